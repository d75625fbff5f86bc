// A sweep worker: one wasm instance per job, jobs one at a time, reports posted back (see sweep.ts).

import { parentPort } from "node:worker_threads";
import { runSweepJob, type SweepJob } from "./sweep.js";

parentPort!.on("message", (job: SweepJob) => {
  runSweepJob(job).then(
    (report) => parentPort!.postMessage({ report }),
    (error: Error) => parentPort!.postMessage({ error: error.message }),
  );
});
