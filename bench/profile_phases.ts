// Where each action of an incremental run spends its time, split into phases: the compiled statements
// (pre-operations, then the write), the COMMIT (WAL write and fsync, and DuckDB's automatic checkpoint
// when the WAL passes checkpoint_threshold), and apart from the run the checkpoint the runner takes
// after it when due (runner/checkpoints.ts). Runs the actions exactly as runner/execute.ts does (one
// transaction each, planTable's SQL), REPS times after a warm-up, each time on 10 s of the stream
// appended first (100,000 raw rows). Models only.
//   node bench/profile_phases.ts DB [REPS] [--checkpoint-threshold 16MB]
import { parseArgs } from "node:util";
import { OwnedCheckpoints, WAREHOUSE_CHECKPOINT_BYTES } from "../runner/checkpoints.ts";
import { describeObject, openDatabase } from "../runner/database.ts";
import { executeActions } from "../runner/execute.ts";
import { actionsInOrder } from "../runner/graph.ts";
import { planTable } from "../runner/statements.ts";
import { Transformer } from "../runner/transform.ts";
import { appendStream } from "./generate.ts";
import { median } from "./stats.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { "checkpoint-threshold": { type: "string" } },
});
const [dbPath, repsArg] = positionals;
if (!dbPath) throw new Error("usage: node bench/profile_phases.ts DB [REPS] [--checkpoint-threshold 16MB]");
const reps = Number(repsArg ?? 5);
const db = await openDatabase(dbPath);
const c = db.connection;
if (values["checkpoint-threshold"]) await c.run(`set checkpoint_threshold = '${values["checkpoint-threshold"]}'`);
const transformer = new Transformer(db);
const { graph } = await transformer.graph();
await transformer.run({ selection: { includeAssertions: false } });
// The warehouse's WAL, read and bounded as the runner does (runner/checkpoints.ts).
const checkpoints = await OwnedCheckpoints.of(c, WAREHOUSE_CHECKPOINT_BYTES);
const walBytes = () => checkpoints.walBytes();

const checkpointTimes: number[] = [];
type Phases = { statements: number[]; commit: number; total: number; walBefore: number; walAfter: number };
const perRep: Map<string, Phases>[] = [];
for (let rep = 0; rep <= reps; rep++) {
  await appendStream(db, { seconds: 10, endBeforeNowSeconds: 1 });
  const phases = new Map<string, Phases>();
  const runStarted = performance.now();
  for (const action of actionsInOrder(graph)) {
    if (action.kind === "assertion") continue;
    if (action.kind === "operation") {
      const t0 = performance.now();
      await executeActions(c, [action]);
      const ms = performance.now() - t0;
      phases.set(action.name, { statements: [ms], commit: 0, total: ms, walBefore: 0, walAfter: 0 });
      continue;
    }
    const t0 = performance.now();
    const { schema, name } = action.table.target;
    await c.run("begin transaction");
    const plan = planTable(action.kind, action.table, await describeObject(c, schema, name), false);
    const statements: number[] = [];
    for (const script of plan.sql) {
      const extracted = await c.extractStatements(script);
      for (let i = 0; i < extracted.count; i++) {
        const prepared = await extracted.prepare(i);
        const s0 = performance.now();
        await prepared.run();
        statements.push(performance.now() - s0);
        prepared.destroySync();
      }
    }
    const walBefore = walBytes();
    const c0 = performance.now();
    await c.run("commit");
    const commit = performance.now() - c0;
    const walAfter = walBytes();
    phases.set(action.name, { statements, commit, total: performance.now() - t0, walBefore, walAfter });
  }
  const runMs = performance.now() - runStarted;
  // As the runner does after a run (runner/transform.ts): the warehouse's checkpoint when due, timed apart.
  const checkpointMs = await checkpoints.maybe(c);
  console.error(`${rep === 0 ? "warm-up" : `rep ${rep}`}: ${runMs.toFixed(0)} ms${checkpointMs ? `, then a checkpoint of ${checkpointMs.toFixed(0)} ms` : ""}`);
  if (rep > 0) {
    perRep.push(phases);
    checkpointTimes.push(checkpointMs);
  }
}

const ms = (x: number) => `${Math.round(x)}`;
console.log(`| action | total ms | statements ms (each; the last is the write) | commit ms (min – max) | WAL before → after commit (MB, median) |`);
console.log(`|---|---|---|---|---|`);
for (const name of perRep[0]!.keys()) {
  const runs = perRep.map((p) => p.get(name)!);
  const statementCount = runs[0]!.statements.length;
  const each = Array.from({ length: statementCount }, (_, i) => ms(median(runs.map((r) => r.statements[i] ?? 0))));
  const commits = runs.map((r) => r.commit);
  const mb = (x: number) => (x / 1e6).toFixed(1);
  console.log(
    `| ${name} | ${ms(median(runs.map((r) => r.total)))} | ${each.join(" + ")} | ${ms(median(commits))} (${ms(Math.min(...commits))} – ${ms(Math.max(...commits))}) | ${mb(median(runs.map((r) => r.walBefore)))} → ${mb(median(runs.map((r) => r.walAfter)))} |`
  );
}
const totals = perRep.map((p) => [...p.values()].reduce((s, x) => s + x.total, 0));
console.log(`\nmodels-only run: median ${ms(median(totals))} ms (${ms(Math.min(...totals))} – ${ms(Math.max(...totals))}), ${perRep.length} runs`);
const taken = checkpointTimes.filter((x) => x > 0);
console.log(
  `checkpoints after runs: ${taken.length} of ${checkpointTimes.length} runs${taken.length ? `, ${taken.map(ms).join(", ")} ms; amortised ${ms(taken.reduce((a, b) => a + b, 0) / checkpointTimes.length)} ms a run` : ""}`
);
db.close();
