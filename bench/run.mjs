// Runs every benchmark in bench/ (each prints its own ratios against a baseline measured in the same run).
import { readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
for (const file of readdirSync(here).filter((f) => f.endsWith(".mjs") && f !== "run.mjs").sort()) {
  if (only.length && !only.some((o) => file.includes(o))) continue;
  console.log(`\n== ${file}`);
  execFileSync(process.execPath, [join(here, file)], { stdio: "inherit" });
}
