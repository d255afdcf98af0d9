// `sightline simulate`: the camera simulator on its own, against the local stack or a deployed service.
import { Command, InvalidArgumentError, Option } from "commander";
import { httpUrl, nonNegativeInteger, positiveInteger, share } from "./flags.ts";
import { progressLine, summaryLines } from "../simulate/report.ts";
import { sendStream } from "../simulate/sender.ts";
import { sendOptions } from "../simulate/settings.ts";

export function simulateCommand(): Command {
  return new Command("simulate")
    .description("Camera simulator: stream detection events to an ingest service (the local stack or a Cloud Run URL).")
    .option("--url <url>", "ingest service base URL", httpUrl, "http://localhost:8080")
    .option("--rate <events>", "events per second", positiveInteger, 10_000)
    .option("--duration <seconds>", "stop after this many seconds (default: until Ctrl-C)", positiveInteger)
    .option("--batch-size <events>", "events per request (at most 10,000)", positiveInteger, 500)
    .option("--concurrency <requests>", "requests in flight at most", positiveInteger, 8)
    .option("--locations <n>", "known locations, oids 1..n (Dataset B)", positiveInteger, 10_000)
    .option("--duplicate-rate <share>", "detections re-sent seconds to hours later", share, 0.03)
    .option("--late-rate <share>", "detections reported minutes to hours after they happened", share, 0.01)
    .option("--conflict-rate <share>", "copies whose content differs from the first copy", share, 0.1)
    .option("--invalid-rate <share>", "events that break the contract", share, 0.005)
    .option("--unknown-rate <share>", "detections at locations missing from Dataset B", share, 0.005)
    .option("--seed <n>", "random seed: the same seed and --first-oid give the same events", nonNegativeInteger, 1)
    .option("--first-oid <n>", "first detection_oid (default: from the clock, so runs never reuse ids)", nonNegativeInteger)
    .addOption(new Option("--token <token>", "bearer token for a service with auth on").env("SIGHTLINE_TOKEN"))
    .action(async (options) => {
      if (options.batchSize > 10_000) throw new InvalidArgumentError("--batch-size: the service takes at most 10,000 events a request");
      const stop = new AbortController();
      process.once("SIGINT", () => stop.abort());
      process.once("SIGTERM", () => stop.abort());
      const tty = process.stderr.isTTY;
      let ticks = 0;
      const summary = await sendStream(
        {
          ...sendOptions(
            {
              rate: options.rate,
              batchSize: options.batchSize,
              concurrency: options.concurrency,
              durationSeconds: options.duration,
              firstOid: options.firstOid,
              seed: options.seed,
              locations: options.locations,
              duplicateRate: options.duplicateRate,
              lateRate: options.lateRate,
              conflictRate: options.conflictRate,
              invalidRate: options.invalidRate,
              unknownRate: options.unknownRate,
            },
            options.url,
            options.token
          ),
          signal: stop.signal,
        },
        {
          // A live line on a terminal; one line every 5 s in a log.
          onProgress: (progress) => {
            if (tty) process.stderr.write(`\r${progressLine(progress)}\x1b[K`);
            else if (++ticks % 5 === 0) process.stderr.write(`${progressLine(progress)}\n`);
          },
          onProblem: (message) => process.stderr.write(`${tty ? "\n" : ""}simulate: ${message}\n`),
        }
      );
      if (tty) process.stderr.write("\n");
      for (const line of summaryLines(summary)) console.log(line);
      if (summary.accepted === 0 && summary.failedRequests > 0) process.exitCode = 1;
    });
}
