// Where an incremental run spends its time: appends 10 s of the stream (100,000 raw rows) to a benchmark
// database, then runs the models one by one; for the named ones it times every compiled statement
// (pre-operations included) and prints EXPLAIN ANALYZE of the write, inside a transaction rolled back
// before the action really runs. With --full-refresh, nothing is appended and every model is rebuilt
// from scratch instead (the full refresh's statements are the ones profiled).
//   node bench/profile_models.ts DB ACTION[,ACTION...] [--full-refresh]   e.g. detection_counts_hourly,top_items_by_location
import { describeObject, openDatabase } from "../runner/database.ts";
import { executeActions } from "../runner/execute.ts";
import { actionsInOrder } from "../runner/graph.ts";
import { planTable, toDuckdbSql } from "../runner/statements.ts";
import { Transformer } from "../runner/transform.ts";
import { appendStream } from "./generate.ts";

const [dbPath, wanted, flag] = process.argv.slice(2);
if (!dbPath || !wanted) throw new Error("usage: node bench/profile_models.ts DB ACTION[,ACTION...] [--full-refresh]");
const fullRefresh = flag === "--full-refresh";
const targets = wanted.split(",");
const db = await openDatabase(dbPath);
const transformer = new Transformer(db);
const { graph } = await transformer.graph();
if (!fullRefresh) {
  await transformer.run({ selection: { includeAssertions: false } });
  await appendStream(db, { seconds: 10, endBeforeNowSeconds: 1 });
}
const c = db.connection;
for (const action of actionsInOrder(graph)) {
  if (action.kind === "assertion") continue;
  const profiled = action.kind !== "operation" && targets.some((t) => action.name === t || action.name.endsWith(`.${t}`));
  if (profiled) {
    const { schema, name } = action.table.target;
    const plan = planTable(action.kind, action.table, await describeObject(c, schema, name), fullRefresh);
    console.log(`\n=== ${action.name} (${plan.mode})`);
    await c.run("begin transaction");
    for (const [index, script] of plan.sql.entries()) {
      const statements = await c.extractStatements(script);
      for (let i = 0; i < statements.count; i++) {
        const prepared = await statements.prepare(i);
        let started = performance.now();
        // A unique-key write's work is the model's SELECT, which the statement before the write runs into a
        // temporary table (runner/statements.ts, replaceByKey): EXPLAIN ANALYZE that SELECT first.
        if (plan.mode === "merge" && index === plan.writeIndex - 1 && i === 0) {
          const reader = await c.runAndReadAll(`explain analyze ${toDuckdbSql(action.table.incrementalQuery ?? action.table.query)}`);
          console.log(`--- the unique-key write's SELECT, EXPLAIN ANALYZE (${(performance.now() - started).toFixed(0)} ms):`);
          for (const row of reader.getRowObjectsJS()) console.log(String(row.explain_value));
          started = performance.now();
        }
        if (index === plan.writeIndex && (plan.mode === "create" || plan.mode === "insert") && i === statements.count - 1) {
          const reader = await c.runAndReadAll(`explain analyze ${script}`);
          console.log(`--- write statement, EXPLAIN ANALYZE (${(performance.now() - started).toFixed(0)} ms):`);
          for (const row of reader.getRowObjectsJS()) console.log(String(row.explain_value));
        } else {
          await prepared.run();
          console.log(`--- ${(performance.now() - started).toFixed(0)} ms: ${script.replace(/\s+/g, " ").slice(0, 240)}`);
        }
      }
    }
    await c.run("rollback");
  }
  const [result] = await executeActions(c, [action], { fullRefresh });
  console.log(`${action.name}: ${result!.durationMs.toFixed(0)} ms`);
}
db.close();
