// A tiny static file server for the browser test: the repository root at `/`, the shared traces at `/shared/`.
// Listens on 127.0.0.1 at a random port; files are sent as they are (a .gz trace stays compressed).

import { createServer, type Server } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".css": "text/css",
  ".gz": "application/octet-stream",
  ".trace": "text/plain",
};

export interface StaticServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** The file a request path names under one of the mounts, or null when it escapes them. */
function fileOf(path: string, mounts: [string, string][]): string | null {
  const clean = normalize(decodeURIComponent(path.split("?")[0]));
  for (const [prefix, dir] of mounts) {
    if (!clean.startsWith(prefix)) continue;
    const file = resolve(join(dir, clean.slice(prefix.length)));
    return file === dir || file.startsWith(dir + sep) ? file : null;
  }
  return null;
}

/** Serves `root` at `/` and `shared` at `/shared/` until closed. */
export async function serveStatic(root: string, shared: string): Promise<StaticServer> {
  const mounts: [string, string][] = [["/shared/", resolve(shared)], ["/", resolve(root)]];
  const requests: string[] = [];
  const server: Server = createServer(async (request, response) => {
    requests.push(request.url ?? "");
    const file = fileOf(request.url ?? "/", mounts);
    try {
      if (!file || !(await stat(file)).isFile()) throw new Error("not a file");
      const body = await readFile(file);
      response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-store" });
      response.end(body);
    } catch {
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("not found");
    }
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
