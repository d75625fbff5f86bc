// Compiles one wasm module per allocator model: assembly/<model>/index.ts -> build/<model>.wasm.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const config = JSON.parse(readFileSync(join(root, "asconfig.json"), "utf8"));
const asc = join(root, "node_modules", "assemblyscript", "bin", "asc.js");
mkdirSync(join(root, "build"), { recursive: true });
const only = process.argv.slice(2);
for (const model of config.models) {
  if (only.length && !only.includes(model)) continue;
  const entry = join("assembly", model, "index.ts");
  if (!existsSync(join(root, entry))) continue;
  execFileSync(process.execPath, [asc, entry, "--config", "asconfig.json", "--target", "release",
    "--outFile", join("build", `${model}.wasm`), "--textFile", join("build", `${model}.wat`)],
    { cwd: root, stdio: "inherit" });
}
