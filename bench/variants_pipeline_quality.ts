// Times variants of pipeline_quality_hourly's compiled MERGE on a benchmark database, each in a transaction
// rolled back (a one-off behind the findings in BENCHMARKS.md):
//   node bench/variants_pipeline_quality.ts DB [--explain]
import { describeObject, openDatabase } from "../runner/database.ts";
import { actionsInOrder } from "../runner/graph.ts";
import { planTable } from "../runner/statements.ts";
import { Transformer } from "../runner/transform.ts";
import { appendStream } from "./generate.ts";
const db = await openDatabase(process.argv[2]!);
const t = new Transformer(db);
const { graph } = await t.graph();
await t.run({ selection: { includeAssertions: false } });
await appendStream(db, { seconds: 10, endBeforeNowSeconds: 1 });
await t.run({ selection: { includeAssertions: false, actions: ["detection_events", "int_detection_lags_bucketed"] } });
const c = db.connection;
const action = actionsInOrder(graph).find((a) => a.name.endsWith(".pipeline_quality_hourly"))!;
if (action.kind === "assertion" || action.kind === "operation") throw new Error();
const plan = planTable(action.kind, action.table, await describeObject(c, "detections", "pipeline_quality_hourly"), false);
const explain = process.argv.includes("--explain");
const variants: Record<string, (s: string) => string> = {
  asIs: (s) => s,
  notMaterialized: (s) => s.replace("detections as (", "detections as not materialized ("),
  notMaterializedAndSemiJoin: (s) => s.replace("detections as (", "detections as not materialized (").replace(
    /and detection_oid between getvariable\('oid_min'\) and getvariable\('oid_max'\)\n\)/,
    "and detection_oid between getvariable('oid_min') and getvariable('oid_max')\n    and detection_oid in (select detection_oid from copies)\n)"),
};
for (const [name, edit] of Object.entries(variants)) {
  await c.run("begin transaction");
  let ms = 0;
  for (const script of plan.sql) {
    const s = edit(script);
    if (name !== "asIs" && s === script && /^\s*merge/i.test(script)) throw new Error(`${name}: no change`);
    const started = performance.now();
    const r = await c.runAndReadAll(explain && /^\s*merge/i.test(script) ? `explain analyze ${s}` : s); if (explain && /^\s*merge/i.test(script)) for (const row of r.getRowObjectsJS()) console.log(String(row.explain_value));
    if (/^\s*merge/i.test(script)) { ms = performance.now() - started; console.log(name, Math.round(ms), "ms", r.rowsChanged); }
  }
  await c.run("rollback");
}
db.close();
