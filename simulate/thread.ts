// Runs the simulator on a worker thread of the local stack: a second core generates and sends events
// while the main thread serves them, and the simulator dies with the stack (even on kill -9).
import { Worker } from "node:worker_threads";
import type { SendSummary } from "./sender.ts";
import type { SimulatorSettings } from "./settings.ts";

export type { SimulatorSettings } from "./settings.ts";

export interface SimulatorThread {
  /** Stops sending, waits for requests in flight, resolves with the summary. */
  stop(): Promise<SendSummary | undefined>;
}

export type WorkerMessage = { type: "progress"; line: string } | { type: "problem"; message: string } | { type: "summary"; summary: SendSummary; lines: string[] };

export interface ThreadInput {
  settings: SimulatorSettings;
  url: string;
  token?: string;
  /** Seconds between progress lines. */
  progressEvery: number;
}

export function startSimulatorThread(input: Omit<ThreadInput, "progressEvery"> & { progressEvery?: number }, say: (line: string) => void): SimulatorThread {
  const worker = new Worker(new URL("./thread_worker.ts", import.meta.url), { workerData: { progressEvery: 10, ...input } satisfies ThreadInput });
  let summary: SendSummary | undefined;
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  worker.on("message", (message: WorkerMessage) => {
    if (message.type === "progress") say(message.line);
    else if (message.type === "problem") say(`simulate: ${message.message}`);
    else {
      summary = message.summary;
      for (const line of message.lines) say(line);
    }
  });
  worker.on("error", (error) => say(`simulate: stopped on an error: ${error.message}`));
  return {
    async stop() {
      worker.postMessage("stop");
      await exited;
      return summary;
    },
  };
}
