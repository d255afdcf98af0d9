// What the warehouse's checkpoint bound (runner/checkpoints.ts, WAREHOUSE_CHECKPOINT_BYTES) costs an
// incremental run, all told: blocks of RUNS live-paced runs on one benchmark database, alternating
// between the bounds given in MB. Each block starts from a checkpoint and ends with one, timed and
// charged to the block, so a large bound cannot leave its debt to the next block. Runs that sweep a
// slot of late copies (once per late_sweep_seconds) are listed apart: they cost the same under any bound.
//   node bench/checkpoint_bound.ts DB [BLOCKS] [RUNS] [MB,MB...]        defaults 3, 12, 64,256
import { openDatabase } from "../runner/database.ts";
import { Transformer } from "../runner/transform.ts";
import { appendWhenPast, catchUpStream } from "./generate.ts";
import { median } from "./stats.ts";

const [dbPath, blocksArg, runsArg, boundsArg] = process.argv.slice(2);
if (!dbPath) throw new Error("usage: node bench/checkpoint_bound.ts DB [BLOCKS] [RUNS] [MB,MB...]");
const blocks = Number(blocksArg ?? 3);
const runs = Number(runsArg ?? 12);
const boundsMb = (boundsArg ?? "64,256").split(",").map(Number);
/** A run this much slower than the block's median is a sweep run. */
const SWEEP_FACTOR = 3;

const db = await openDatabase(dbPath);
const transformers = boundsMb.map((mb) => new Transformer(db, {}, undefined, { checkpointEveryBytes: mb * 2 ** 20 }));
// The stream caught up to now and run once (not measured), as bench/profile_phases.ts does.
let appended = await catchUpStream(db, (line) => console.error(line));
await transformers[0]!.run({ selection: { includeAssertions: false } });

type Block = { normalMedianMs: number; checkpointMsPerRun: number; sweepRunsMs: number[] };
const results: Block[][] = boundsMb.map(() => []);
for (let block = 0; block < blocks * boundsMb.length; block++) {
  const variant = block % boundsMb.length;
  await db.connection.run("checkpoint");
  const runMs: number[] = [];
  let checkpointMs = 0;
  const shown: string[] = [];
  for (let r = 0; r < runs; r++) {
    appended = await appendWhenPast(db, appended);
    const result = await transformers[variant]!.run({ selection: { includeAssertions: false } });
    if (!result.ok) throw new Error(`run ${r} of block ${block} failed`);
    runMs.push(result.durationMs);
    checkpointMs += result.checkpointMs;
    shown.push(`${result.durationMs.toFixed(0)}${result.checkpointMs ? `+c${result.checkpointMs.toFixed(0)}` : ""}`);
  }
  const started = performance.now();
  await db.connection.run("checkpoint");
  const finalMs = performance.now() - started;
  const typical = median(runMs);
  const normal = runMs.filter((ms) => ms < SWEEP_FACTOR * typical);
  results[variant]!.push({
    normalMedianMs: median(normal),
    checkpointMsPerRun: (checkpointMs + finalMs) / runs,
    sweepRunsMs: runMs.filter((ms) => ms >= SWEEP_FACTOR * typical),
  });
  console.error(`block ${block}, ${boundsMb[variant]} MB: runs ${shown.join(" ")} (+c: a checkpoint after it); final checkpoint ${finalMs.toFixed(0)} ms`);
}

const ms = (x: number) => Math.round(x).toLocaleString("en-US");
console.log("| bound | normal run, median of each block (ms) | checkpoints, ms a run amortised | sweep runs (ms) |");
console.log("|---|---|---|---|");
for (const [variant, list] of results.entries()) {
  console.log(
    `| ${boundsMb[variant]} MB | ${list.map((b) => ms(b.normalMedianMs)).join(" · ")} | ${list.map((b) => ms(b.checkpointMsPerRun)).join(" · ")} | ${list.flatMap((b) => b.sweepRunsMs).map(ms).join(", ") || "none"} |`
  );
}
db.close();
