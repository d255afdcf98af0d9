// `sightline simulate`: the camera simulator on its own, against the local stack or a deployed service.
import { Command, InvalidArgumentError, Option, type OutputConfiguration } from "commander";
import { MAX_EVENTS_PER_REQUEST } from "../ingest/batch.ts";
import { progressLine } from "../simulate/report.ts";
import { detectionsEndpoint, simulate, type SendSummary } from "../simulate/sender.ts";
import { clockOid } from "../simulate/settings.ts";

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError("expected a positive integer");
  return value;
}

function nonNegativeInteger(text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError("expected an integer of 0 or more");
  return value;
}

function positiveSeconds(text: string): number {
  const value = Number(text);
  if (!(value > 0 && Number.isFinite(value))) throw new InvalidArgumentError("expected a positive number of seconds");
  return value;
}

function batchSize(text: string): number {
  const value = positiveInteger(text);
  if (value > MAX_EVENTS_PER_REQUEST) throw new InvalidArgumentError(`the service takes at most ${MAX_EVENTS_PER_REQUEST.toLocaleString("en")} events a request`);
  return value;
}

function locations(text: string): number {
  const value = positiveInteger(text);
  // Camera oids are location·10 + 0..2: keep them well inside exact JSON numbers.
  if (value > 100_000_000) throw new InvalidArgumentError("expected at most 100,000,000");
  return value;
}

function share(text: string): number {
  const value = Number(text);
  if (text.trim() === "" || !(value >= 0 && value <= 1)) throw new InvalidArgumentError("expected a share from 0 to 1, e.g. 0.03 for 3%");
  return value;
}

function url(text: string): string {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new InvalidArgumentError("expected an http(s) URL such as http://localhost:8080");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new InvalidArgumentError("expected an http(s) URL such as http://localhost:8080");
  return text;
}

const n = (value: number) => Math.round(value).toLocaleString("en");
const ms = (value: number) => `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;

/** The end-of-run table: what was sent, what the service made of it, how the delivery went. */
export function summaryTable(s: SendSummary): string {
  const rows: Array<[string, string, string?]> = [
    ["duration", `${s.seconds.toFixed(1)} s`, s.stoppedBy === "refused" ? "stopped: the service refused the first requests" : undefined],
    ["sent", n(s.sent), `${n(s.achievedRate)} events/s acknowledged`],
    ["  accepted", n(s.accepted)],
    ["  rejected", n(s.rejected), `${n(s.invalid)} invalid sent`],
    ["  never acknowledged", n(s.unacknowledged), s.failedRequests ? `${n(s.failedRequests)} failed requests` : undefined],
    ["detections", n(s.originals)],
    ["  late", n(s.late), "minutes to hours old"],
    ["  unknown location", n(s.unknownLocation), "not in Dataset B"],
    ["copies sent", n(s.copies), `${n(s.conflicting)} conflicting`],
    ["copies pending", n(s.pendingCopies), "not yet due, not sent"],
    ["retries", n(s.retries)],
    s.accepted + s.rejected > 0
      ? ["ack latency", `${ms(s.latencyMs.p50)} p50`, `${ms(s.latencyMs.p99)} p99, ${ms(s.latencyMs.max)} max`]
      : ["ack latency", "n/a", "nothing was acknowledged"],
  ];
  const labelWidth = Math.max(...rows.map(([label]) => label.length));
  const valueWidth = Math.max(...rows.map(([, value]) => value.length));
  return rows.map(([label, value, note]) => `${label.padEnd(labelWidth)}  ${value.padStart(valueWidth)}${note ? `  ${note}` : ""}`.trimEnd()).join("\n");
}

export function simulateCommand(): Command {
  const command = new Command("simulate")
    .description("Camera simulator: stream detection events to an ingest service (the local stack or a Cloud Run URL).")
    .option("--url <url>", "ingest service base URL", url, "http://localhost:8080")
    .option("--rate <events>", "events per second", positiveInteger, 10_000)
    .option("--duration <seconds>", "stop after this many seconds (default: until Ctrl-C)", positiveSeconds)
    .option("--batch-size <events>", `events per request (at most ${MAX_EVENTS_PER_REQUEST.toLocaleString("en")})`, batchSize, 500)
    .option("--concurrency <requests>", "requests in flight at most", positiveInteger, 8)
    .option("--locations <n>", "known locations, oids 1..n (Dataset B)", locations, 10_000)
    .option("--duplicate-rate <share>", "detections re-sent seconds to hours later", share, 0.03)
    .option("--late-rate <share>", "detections reported minutes to hours after they happened", share, 0.01)
    .option("--conflict-rate <share>", "copies whose content differs from the first copy", share, 0.1)
    .option("--invalid-rate <share>", "events that break the contract (the service rejects them)", share, 0.005)
    .option("--unknown-rate <share>", "detections at locations missing from Dataset B", share, 0.005)
    .option("--seed <n>", "random seed: the same seed and --first-oid give the same events", nonNegativeInteger, 1)
    .option("--first-oid <n>", "first detection_oid (default: from the clock, so runs never reuse ids)", nonNegativeInteger)
    .addOption(new Option("--token <token>", "bearer token for a service with auth on").env("SIGHTLINE_TOKEN"))
    .action(async (options) => {
      const output = command.configureOutput() as Required<Pick<OutputConfiguration, "writeOut" | "writeErr">>;
      const say = (text: string) => output.writeErr(text);
      const tty = process.stderr.isTTY === true;
      const firstOid: number = options.firstOid ?? clockOid();
      let ticks = 0;
      say(
        `simulating ${n(options.rate)} events/s to ${detectionsEndpoint(options.url)} ` +
          `(seed ${options.seed}, first detection_oid ${firstOid}${options.duration ? `, for ${options.duration} s` : ""}); Ctrl-C stops\n`
      );

      const run = simulate(
        {
          url: options.url,
          token: options.token,
          rate: options.rate,
          batchSize: options.batchSize,
          concurrency: options.concurrency,
          durationSeconds: options.duration,
          stream: {
            seed: options.seed,
            firstOid,
            locations: options.locations,
            duplicateRate: options.duplicateRate,
            lateRate: options.lateRate,
            conflictRate: options.conflictRate,
            invalidRate: options.invalidRate,
            unknownRate: options.unknownRate,
          },
        },
        {
          // A live line on a terminal; one line every 5 s in a log.
          onProgress: (progress) => {
            if (tty) say(`\r${progressLine(progress)}\x1b[K`);
            else if (++ticks % 5 === 0) say(`${progressLine(progress)}\n`);
          },
          onProblem: (message) => say(`${tty ? "\r\x1b[K" : ""}simulate: ${message}\n`),
        }
      );
      // The first Ctrl-C lets requests in flight finish for an honest summary; a second one (the
      // default handler again, once this one is gone) quits at once.
      const interrupt = () => {
        say(`${tty ? "\n" : ""}stopping: waiting for requests in flight (Ctrl-C again quits now)\n`);
        run.stop();
      };
      process.once("SIGINT", interrupt);
      process.once("SIGTERM", interrupt);
      let summary: SendSummary;
      try {
        summary = await run;
      } finally {
        process.off("SIGINT", interrupt);
        process.off("SIGTERM", interrupt);
      }
      if (tty) say("\n");
      output.writeOut(`${summaryTable(summary)}\n`);
      // Events that were never acknowledged are lost as far as the cameras know: say so in the status.
      if (summary.failedRequests > 0) process.exitCode = 1;
    });
  return command;
}
