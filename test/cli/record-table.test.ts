// `heaplab record` names the program the command meant behind its wrappers (env, a shim that execs, a shell that
// forks), prints which file is which, and lists only the files this recording wrote: an earlier recording's files
// beside them are left as they were and not listed.

import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type RecordedFile, buildRecorder, fileRoles, mainProgram, recordingTable } from "../../src/cli/record.js";
import { oracleUnavailable } from "../oracle/native.js";
import { heaplab } from "./run.js";

/** A recorded file as `describe` reads it, for the naming rules alone. */
function file(path: string, pid: number, ppid: number, exe: string, generation = 0, ops = 10): RecordedFile {
  return { path, pid, ppid, exe, generation, ops, ended: true };
}

describe("the main program of a recording", () => {
  const tool = 100;

  it("follows the command's execs to its last image", () => {
    const files = [file("/d/x", 200, tool, "env"), file("/d/x.exec1", 200, tool, "bash", 1),
      file("/d/x.exec2", 200, tool, "python3.11", 2), file("/d/x.300", 300, 200, "bash")];
    const { main, pids } = mainProgram(files, tool);
    expect(main?.path).toBe("/d/x.exec2");
    expect(pids).toEqual([200]);
    expect(fileRoles(files, main, tool)).toEqual(["exec'd bash", "exec'd python3.11", "main program", "child of pid 200"]);
  });

  it("follows a shell that started one process into it", () => {
    const files = [file("/d/x", 200, tool, "dash"), file("/d/x.300.exec1", 300, 200, "sort", 1)];
    expect(mainProgram(files, tool).main?.path).toBe("/d/x.300.exec1");
    expect(recordingTable("x", files, tool).split("\n")).toEqual([
      "record: 2 files; the main program, sort, is x.300.exec1",
      "  file         program  pid  ops  what",
      "  ───────────  ───────  ───  ───  ────────────",
      "  x            dash     200   10  the command",
      "  x.300.exec1  sort     300   10  main program",
    ]);
  });

  it("stays at a shell that started several processes, and a program that is no wrapper", () => {
    const shell = [file("/d/x", 200, tool, "bash"), file("/d/x.300", 300, 200, "ls"), file("/d/x.301", 301, 200, "wc")];
    expect(mainProgram(shell, tool).main?.path).toBe("/d/x");
    const program = [file("/d/x", 200, tool, "make"), file("/d/x.300", 300, 200, "cc")];
    expect(mainProgram(program, tool).main?.path).toBe("/d/x");
  });

  it("lists the main program's path and counts the other processes when there are many", () => {
    const files = [file("/d/x", 200, tool, "env"), file("/d/x.exec1", 200, tool, "python3", 1),
      ...Array.from({ length: 25 }, (_, i) => file(`/d/x.${300 + i}`, 300 + i, 200, i < 20 ? "bash" : "uname"))];
    const lines = recordingTable("x", files, tool).split("\n");
    expect(lines[0]).toBe("record: 27 files; the main program, python3, is x.exec1");
    expect(lines).toHaveLength(6);
    expect(lines[5]).toBe("  … and 25 files of 25 other processes (bash ×20, uname ×5): x.<pid>[.exec<k>]");
  });
});

const unavailable = oracleUnavailable();

describe.skipIf(unavailable)("record behind wrappers", () => {
  let dir: string;
  let program: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "heaplab-record-table-"));
    buildRecorder();
    writeFileSync(join(dir, "main.c"), "#include <stdlib.h>\nint main(void) { for (int i = 0; i < 50; i++) free(malloc(100 + i)); return 0; }\n");
    program = join(dir, "main");
    const cc = spawnSync("cc", ["-O0", "-o", program, join(dir, "main.c")], { encoding: "utf8" });
    if (cc.status !== 0) throw new Error(cc.stderr);
  });

  /** A shell script that runs the program, by exec or as a child. */
  function shim(name: string, exec: boolean): string {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${exec ? "exec " : ""}'${program}' "$@"\n`);
    chmodSync(path, 0o755);
    return path;
  }

  it("env and a shim that execs: the program's image is named the main program", () => {
    const out = join(dir, "exec.trace");
    const r = heaplab(["record", "-o", out, "--", "env", shim("exec-shim", true)]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe(`record: ${lines.length - 3} files; the main program, main, is ${out}.exec2`);
    expect(lines.slice(3, 6).map((l) => l.trim().split(/ {2,}/)).map((c) => [c[0], c[1], c[4]])).toEqual([
      [out, "env", "exec'd dash"], [`${out}.exec1`, "dash", "exec'd main"], [`${out}.exec2`, "main", "main program"],
    ]);
    expect(readFileSync(`${out}.exec2`, "utf8").split("\n").filter((l) => / m /.test(l)).length).toBeGreaterThanOrEqual(50);
  });

  it("a shim that forks: the child's image is named the main program", () => {
    const out = join(dir, "fork.trace");
    const r = heaplab(["record", "-o", out, "--", shim("fork-shim", false)]);
    expect(r.status).toBe(0);
    expect(r.stderr.split("\n")[0]).toMatch(new RegExp(`^record: \\d+ files; the main program, main, is ${out}\\.\\d+\\.exec1$`));
    expect(r.stderr).toMatch(/^ {2}\S+fork\.trace +dash +\d+ +\d+ +the command$/m);
  });

  it("lists only this recording's files; an earlier recording's are left as they were", () => {
    const out = join(dir, "again.trace");
    writeFileSync(`${out}.99999`, "# alloc-trace v1 pid=99999 ppid=1 exe=old\n");
    writeFileSync(`${out}.exec4`, "# alloc-trace v1 pid=5 ppid=1 exe=old\n");
    writeFileSync(out, "# alloc-trace v1 pid=5 ppid=1 exe=old\n");
    const r = heaplab(["record", "-o", out, "--", program]);
    expect(r.status).toBe(0);
    expect(r.stderr.split("\n")).toEqual([
      `record: 1 file; the main program, main, is ${out}`,
      expect.stringMatching(/^ {2}file +program +pid +ops +what$/),
      expect.stringMatching(/^ {2}─+/),
      expect.stringMatching(new RegExp(`^  ${out} +main +\\d+ +\\d+ +main program$`)),
      `record: 2 files of an earlier recording beside ${out} left as they were, not listed`,
      "",
    ]);
    expect(readFileSync(`${out}.99999`, "utf8")).toBe("# alloc-trace v1 pid=99999 ppid=1 exe=old\n");
    expect(readFileSync(`${out}.exec4`, "utf8")).toBe("# alloc-trace v1 pid=5 ppid=1 exe=old\n");
    expect(readFileSync(out, "utf8")).toMatch(/ exe=main\n/);
  });

  it("checks the output's folder before running the command, exit 1", () => {
    const marker = join(dir, "ran");
    const r = heaplab(["record", "-o", join(dir, "nowhere", "x.trace"), "--", "sh", "-c", `touch '${marker}'`]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^heaplab: -o .*nowhere\/x\.trace: no such folder/);
    expect(spawnSync("test", ["-e", marker]).status).toBe(1);
  });
});
