// The simulator thread's body (see thread.ts): send until told to stop, report progress and a summary.
import { parentPort, workerData } from "node:worker_threads";
import { progressLine, summaryLines } from "./report.ts";
import { sendStream } from "./sender.ts";
import { sendOptions } from "./settings.ts";
import type { ThreadInput, WorkerMessage } from "./thread.ts";

const input = workerData as ThreadInput;
const port = parentPort!;
const stop = new AbortController();
port.on("message", (message) => {
  if (message === "stop") stop.abort();
});
const post = (message: WorkerMessage) => port.postMessage(message);

let ticks = 0;
const summary = await sendStream(
  { ...sendOptions(input.settings, input.url, input.token), signal: stop.signal },
  {
    onProgress: (progress) => {
      if (++ticks % input.progressEvery === 0) post({ type: "progress", line: progressLine(progress) });
    },
    onProblem: (message) => post({ type: "problem", message }),
  }
);
post({ type: "summary", summary, lines: summaryLines(summary) });
port.close();
