import { it } from "vitest";
import { runReal, runModel, firstDifference, identicalFraction, statDifferences } from "./real.js";
const names = (process.env.JE_TRACES ?? "git-log-p").split(",");
const conf = process.env.JE_CONF ?? "";
const opts = JSON.parse(process.env.JE_OPTS ?? "{}");
for (const name of names) {
  it(name, async () => {
    const path = `/work/shared/traces/${name}.trace.gz`;
    const th = process.env.JE_THREADS === "real";
    const real = await runReal(path, conf, th ? "real" : "merge");
    const model = await runModel(path, real, opts, th ? "arena" : "merge");
    console.log("RESULT", name, real.lines.length, (identicalFraction(real.lines, model.lines) * 100).toFixed(2) + "%", firstDifference(real.lines, model.lines), statDifferences(real.stats, model.stats));
  }, 300000);
}
