// What running independent actions at once (runner/transform.ts, PARALLEL_ACTIONS) saves an incremental
// run: live-paced runs on one benchmark database, each on the next 10 s of the stream, alternating
// between the widths given (1 = one action after another). Alternating run by run puts every width on
// the same minutes of the hour, which decide a run's cost as much as anything (the current hour's
// rows grow). Runs that sweep a slot of late copies (once per late_sweep_seconds) are listed apart.
//   node bench/parallel_actions.ts DB [RUNS] [WIDTH,WIDTH...]        defaults 20, 1,2
import { openDatabase } from "../runner/database.ts";
import { Transformer } from "../runner/transform.ts";
import { appendWhenPast, catchUpStream } from "./generate.ts";
import { median } from "./stats.ts";

const [dbPath, runsArg, widthsArg] = process.argv.slice(2);
if (!dbPath) throw new Error("usage: node bench/parallel_actions.ts DB [RUNS] [WIDTH,WIDTH...]");
const runs = Number(runsArg ?? 20);
const widths = (widthsArg ?? "1,2").split(",").map(Number);
/** A run this much slower than its width's median is a sweep run. */
const SWEEP_FACTOR = 3;

const db = await openDatabase(dbPath);
const transformers = widths.map((width) => new Transformer(db, {}, undefined, { parallelActions: width }));
// The stream caught up to now and run once (not measured), as bench/profile_phases.ts does.
let appended = await catchUpStream(db, (line) => console.error(line));
await transformers[0]!.run({ selection: { includeAssertions: false } });

const measured = widths.map(() => ({ runMs: [] as number[], minutes: [] as number[], checkpointMs: [] as number[], actions: new Map<string, number[]>() }));
// A warm-up of each width, then `runs` of each, alternating.
for (let run = 0; run < (runs + 1) * widths.length; run++) {
  const variant = run % widths.length;
  appended = await appendWhenPast(db, appended);
  const result = await transformers[variant]!.run({ selection: { includeAssertions: false } });
  if (!result.ok) throw new Error(`run ${run} failed: ${result.actions.find((a) => a.status !== "ok")?.error}`);
  console.error(`run ${run}, width ${widths[variant]}: ${result.durationMs.toFixed(0)} ms${result.checkpointMs ? `, then a checkpoint of ${result.checkpointMs.toFixed(0)} ms` : ""}`);
  if (run < widths.length) continue;
  // The runner runs one at a time after a long run (PARALLEL_AFTER_RUNS_UNDER_MS): such a run measured
  // another width, so it is left out.
  if (result.actionsAtOnce !== widths[variant]) {
    console.error(`  (ran ${result.actionsAtOnce} at once, not ${widths[variant]}: left out)`);
    continue;
  }
  const into = measured[variant]!;
  into.runMs.push(result.durationMs);
  into.minutes.push(result.startedAt.getUTCMinutes());
  into.checkpointMs.push(result.checkpointMs);
  for (const action of result.actions) {
    if (!into.actions.has(action.name)) into.actions.set(action.name, []);
    into.actions.get(action.name)!.push(action.durationMs);
  }
}

/** Which runs were normal, not sweeps: the one split both tables below use. */
const isNormal = measured.map(({ runMs }) => runMs.map((x) => x < SWEEP_FACTOR * median(runMs)));

const ms = (x: number) => Math.round(x).toLocaleString("en-US");
console.log("| actions at once | normal run, median (min – max) ms | sweep runs (ms) | checkpoints, ms a run amortised |");
console.log("|---|---|---|---|");
for (const [variant, { runMs, checkpointMs }] of measured.entries()) {
  const normal = runMs.filter((_, i) => isNormal[variant]![i]);
  const sweeps = runMs.filter((_, i) => !isNormal[variant]![i]);
  const amortised = checkpointMs.reduce((a, b) => a + b, 0) / checkpointMs.length;
  console.log(`| ${widths[variant]} | ${ms(median(normal))} (${ms(Math.min(...normal))} – ${ms(Math.max(...normal))}), ${normal.length} runs | ${sweeps.map(ms).join(", ") || "none"} | ${ms(amortised)} |`);
}
// The current hour's rows grow through the hour, and with them what the hourly counts join: by minute.
const buckets = [0, 10, 20, 30, 40, 50];
console.log(`\n| minutes into the hour | ${widths.map((w) => `${w} at once: normal runs, median ms (runs)`).join(" | ")} |`);
console.log(`|---|${widths.map(() => "---").join("|")}|`);
for (const from of buckets) {
  const cells = measured.map(({ runMs, minutes }, variant) => {
    const inBucket = runMs.filter((_, i) => isNormal[variant]![i] && minutes[i]! >= from && minutes[i]! < from + 10);
    return inBucket.length ? `${ms(median(inBucket))} (${inBucket.length})` : "–";
  });
  if (cells.some((cell) => cell !== "–")) console.log(`| ${from} – ${from + 10} | ${cells.join(" | ")} |`);
}
console.log(`\n| action | ${widths.map((w) => `${w} at once: median ms`).join(" | ")} |`);
console.log(`|---|${widths.map(() => "---").join("|")}|`);
for (const name of measured[0]!.actions.keys()) {
  console.log(`| ${name} | ${measured.map((m) => ms(median(m.actions.get(name) ?? [0]))).join(" | ")} |`);
}
db.close();
