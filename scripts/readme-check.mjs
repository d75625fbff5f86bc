// Runs the README's commands in a checkout and compares what they print with what the README shows.
//
//   node scripts/readme-check.mjs [checkout]      (default: this one; a fresh clone after `npm ci` is the real test)
// What the commands write goes to a scratch folder; the checkout is only read.
//
// A block whose first line is `$ command` is run in the checkout (its later `$` lines too): every other line of the
// block must appear in the commands' output, in order; `…` stands for lines left out. The pipe forms (the block that
// starts `cat app.trace |`) are run on the bundled example and must exit 0. `npm test` is not run (minutes long).
// Call-site rows name functions and source lines as the machine's debug symbols allow: they are not compared, and
// a table's columns are compared as words, not widths, where such rows set them.

import { execSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(process.argv[2] ?? ".");
const readme = readFileSync(join(root, "README.md"), "utf8");
const blocks = [...readme.matchAll(/^```\n([\s\S]*?)^```$/gm)].map((m) => m[1].replace(/\n$/, "").split("\n"));
const scratch = mkdtempSync(join(tmpdir(), "heaplab-readme-"));
let failures = 0;
let checked = 0;

/** The command with the files README commands write (app.*, py.trace*, heap.svg) moved to the scratch folder, so a
 * check never writes onto a file of the checkout. */
function inScratch(command) {
  return command.replace(/(^|[ (<])(app\.|py\.trace|heap\.svg)/g, `$1${scratch}/$2`);
}

/** Runs `command` with bash in the checkout; its stdout, stderr and exit status. */
function sh(command) {
  const r = spawnSync("bash", ["-o", "pipefail", "-c", command], {
    cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}` },
    maxBuffer: 1 << 28,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function report(ok, title, detail = "") {
  checked++;
  if (!ok) failures++;
  console.log(`${ok ? "ok  " : "FAIL"} ${title}${detail ? `\n${detail}` : ""}`);
}

/** A call-site row: a function (and its source line) named by the machine's debug symbols. */
const machineDependent = (line) => / ← |\w\.c:\d+/.test(line);

/** Whether the `expected` lines (with `…` gaps) appear in `actual` in order; the first missing line otherwise. */
function missing(expected, actual) {
  const sites = expected.some(machineDependent);
  const normal = (line) => (sites ? line.trim().replace(/\s+/g, " ") : line.trimEnd());
  const lines = actual.split("\n").map(normal);
  let at = 0;
  for (const line of expected) {
    if (line === "…" || machineDependent(line) || (sites && /^[─ ]+$/.test(line))) continue;
    const found = lines.indexOf(normal(line), at);
    if (found < 0) return line;
    at = found + 1;
  }
  return null;
}

for (const block of blocks) {
  if (block[0].startsWith("$ ")) {
    const commands = block.filter((l) => l.startsWith("$ ")).map((l) => l.slice(2));
    const expected = block.filter((l) => !l.startsWith("$ "));
    let output = "";
    let status = 0;
    for (const command of commands) {
      const r = sh(inScratch(command));
      output += r.stdout;
      status ||= r.status;
      if (r.status !== 0) output += r.stderr;
    }
    const lost = missing(expected, output);
    report(status === 0 && lost === null, commands.join(" && "),
      status !== 0 ? `  exit ${status}:\n${output.slice(-2000)}` : lost !== null ? `  not printed: ${lost}\n${output}` : "");
  } else if (block[0].startsWith("cat app.trace |")) {
    // The pipe forms on the bundled example.
    const trace = join(root, "examples", "ls-la.trace");
    execSync(`gzip -c '${trace}' > '${join(scratch, "app.trace.gz")}' && cp '${trace}' '${join(scratch, "app.trace")}'`);
    for (const line of block) {
      const command = inScratch(line.replace(/^heaplab /, "npx heaplab ").replace(/\| heaplab /g, "| npx heaplab "));
      const r = sh(command);
      report(r.status === 0, line, r.status === 0 ? "" : `  exit ${r.status}: ${r.stderr}`);
    }
  } else if (block[0] === "npm install && npm start") {
    const r = sh("npm start --silent");
    report(r.status === 0 && r.stdout.includes("peak reached at"), "npm start", r.status === 0 ? "" : r.stderr);
  }
}

console.log(`${checked} README commands checked, ${failures} failed`);
process.exit(failures ? 1 : 0);
