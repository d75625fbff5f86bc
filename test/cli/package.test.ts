// The package as the registry shows it and a user installs it: what the tarball holds, the licence, and a README
// whose links lead to files that are in the tarball.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../oracle/native.js";

let packed: Set<string>;
const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));

beforeAll(() => {
  // The files npm would pack, without building: the build is not what is checked here.
  const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: repoRoot, encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  packed = new Set(JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path));
});

/** The relative link targets of a markdown text (images included), without anchors. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1].replace(/#.*/, ""))
    .filter((target) => target !== "" && !/^[a-z]+:/.test(target));
}

describe("the package", () => {
  it("ships an MIT LICENSE, as package.json says", () => {
    expect(pkg.license).toBe("MIT");
    expect(packed.has("LICENSE")).toBe(true);
    expect(readFileSync(join(repoRoot, "LICENSE"), "utf8")).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /);
  });

  it("every relative link of the README and the docs leads to a file in the package", () => {
    const documents = ["README.md", ...[...packed].filter((f) => f.endsWith(".md") && f !== "README.md")];
    let links = 0;
    for (const document of documents) {
      const folder = document.includes("/") ? document.slice(0, document.lastIndexOf("/") + 1) : "";
      for (const target of relativeLinks(readFileSync(join(repoRoot, document), "utf8"))) {
        const path = join(folder, target).replace(/\/$/, "");
        links++;
        expect([...packed].some((f) => f === path || f.startsWith(`${path}/`)), `${document} → ${target}`).toBe(true);
      }
    }
    expect(links).toBeGreaterThanOrEqual(6);
    for (const doc of ["docs/design.md", "docs/formats.md", "docs/report-schema.md"]) expect(packed.has(doc)).toBe(true);
  });

  it("every shipped source map carries the sources it points at (src/ is not shipped)", () => {
    const maps = [...packed].filter((f) => f.endsWith(".js.map"));
    expect(maps.length).toBeGreaterThan(10);
    expect([...packed].some((f) => f.startsWith("src/"))).toBe(false);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(repoRoot, map), "utf8"));
      expect(sourcesContent?.length, map).toBe(sources.length);
      expect(sourcesContent.every((text: unknown) => typeof text === "string" && text.length > 0), map).toBe(true);
    }
  });

  it("ships no compiled module whose source is gone (the build starts from an empty dist/)", () => {
    const modules = [...packed].filter((f) => /^dist\/.*\.js$/.test(f));
    const stale = modules.filter((f) => !existsSync(join(repoRoot, f.replace(/^dist\//, "src/").replace(/\.js$/, ".ts"))));
    expect(stale).toEqual([]);
  });

  it("the README opens with its title, then shows how to start and test", () => {
    expect(readme.startsWith("# heaplab")).toBe(true);
    const top = readme.split("\n").slice(0, 15).join("\n");
    expect(top).toMatch(/^```\nnpm install && npm start\nnpm test\n```$/m);
  });

  it("the README shows the pipe forms", () => {
    expect(readme).toMatch(/^cat \S+ \| heaplab replay -$/m);
    expect(readme).toMatch(/^heaplab replay <\(zcat \S+\)/m);
  });
});
