// Where each action of an incremental run spends its time, split into phases: the compiled statements
// (pre-operations, then the write), the COMMIT (WAL write and fsync, and DuckDB's automatic checkpoint
// when the WAL passes checkpoint_threshold), and apart from the run the checkpoint the runner takes
// after it when due (runner/checkpoints.ts). Runs the actions exactly as runner/execute.ts does (one
// transaction each, planTable's SQL), REPS times after a warm-up, each time on the next 10 s of the
// stream (100,000 raw rows) appended once they are in the past, after the stream was caught up to now
// (bench/generate.ts catchUpStream). Models only.
// With --against DIR, reps alternate between this project's SQL and DIR's (another checkout of the
// project, e.g. a git worktree, with node_modules/@dataform copied in: dataform refuses a symlinked
// node_modules): an A/B on the same database, state and minutes.
//   node bench/profile_phases.ts DB [REPS] [--checkpoint-threshold 16MB] [--against DIR]
import { parseArgs } from "node:util";
import { OwnedCheckpoints, WAREHOUSE_CHECKPOINT_BYTES } from "../runner/checkpoints.ts";
import { describeObject, openDatabase } from "../runner/database.ts";
import { executeActions } from "../runner/execute.ts";
import { actionsInOrder } from "../runner/graph.ts";
import { planTable } from "../runner/statements.ts";
import { Transformer } from "../runner/transform.ts";
import { appendWhenPast, catchUpStream, type AppendResult } from "./generate.ts";
import { median } from "./stats.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { "checkpoint-threshold": { type: "string" }, against: { type: "string" } },
});
const [dbPath, repsArg] = positionals;
if (!dbPath) throw new Error("usage: node bench/profile_phases.ts DB [REPS] [--checkpoint-threshold 16MB] [--against DIR]");
const reps = Number(repsArg ?? 5);
const db = await openDatabase(dbPath);
const c = db.connection;
if (values["checkpoint-threshold"]) await c.run(`set checkpoint_threshold = '${values["checkpoint-threshold"]}'`);
const transformer = new Transformer(db);
const variants = [{ label: "this checkout", graph: (await transformer.graph()).graph }];
if (values.against) {
  variants.push({ label: values.against, graph: (await new Transformer(db, {}, values.against).graph()).graph });
}
// The stream caught up to now and run, as models_child's incremental mode does (not measured).
let appended: AppendResult = await catchUpStream(db, (line) => console.error(line));
await transformer.run({ selection: { includeAssertions: false } });
// The warehouse's WAL, read and bounded as the runner does (runner/checkpoints.ts).
const checkpoints = await OwnedCheckpoints.of(c, WAREHOUSE_CHECKPOINT_BYTES);
const walBytes = () => checkpoints.walBytes();

type Phases = { statements: number[]; commit: number; total: number; walBefore: number; walAfter: number };
const measured = variants.map(() => ({ perRep: [] as Map<string, Phases>[], checkpointTimes: [] as number[] }));
// A warm-up for each variant, then `reps` runs of each, alternating.
for (let rep = 0; rep < (reps + 1) * variants.length; rep++) {
  const variant = rep % variants.length;
  const { graph, label } = variants[variant]!;
  appended = await appendWhenPast(db, appended);
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
  const warmUp = rep < variants.length;
  // Runs that sweep a slot of late copies (once per late_sweep_seconds) stand out: name their actions.
  const slow = [...phases].filter(([, p]) => p.total > 500).map(([name, p]) => `${name} ${p.total.toFixed(0)} ms`);
  console.error(`${warmUp ? "warm-up" : `rep ${Math.floor(rep / variants.length)}`}${variants.length > 1 ? ` (${label})` : ""}: ${runMs.toFixed(0)} ms${slow.length ? ` (${slow.join(", ")})` : ""}${checkpointMs ? `, then a checkpoint of ${checkpointMs.toFixed(0)} ms` : ""}`);
  if (!warmUp) {
    measured[variant]!.perRep.push(phases);
    measured[variant]!.checkpointTimes.push(checkpointMs);
  }
}

const ms = (x: number) => `${Math.round(x)}`;
for (const [variant, { perRep, checkpointTimes }] of measured.entries()) {
  if (variants.length > 1) console.log(`\n### ${variants[variant]!.label}\n`);
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
}
db.close();
