// Executes selected actions of a compiled graph on DuckDB. Every action runs in its own transaction,
// so a run that dies midway leaves each table either before or after its action, never in between,
// and the next run carries on from the watermarks the models keep.
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Action, CompiledTest } from "./graph.ts";
import { describeObject, quoteIdentifier } from "./database.ts";
import { assertionViewSql, planTable, targetSql, toDuckdbSql, type WriteMode } from "./statements.ts";

export interface ActionResult {
  name: string;
  kind: Action["kind"];
  status: "ok" | "failed" | "skipped";
  mode?: WriteMode | "operation" | "assertion";
  durationMs: number;
  /** Rows inserted or merged by the action's write (DuckDB's count). */
  rowsChanged?: number;
  /** Rows in the target afterwards (tables only, and only when ExecuteOptions.countRows). */
  rows?: number;
  /** For a failed assertion: how many rows violate it, and the first of them. */
  violations?: { count: number; sample: Record<string, unknown>[] };
  error?: string;
}

export interface TestResult {
  name: string;
  status: "ok" | "failed";
  durationMs: number;
  error?: string;
}

export interface ExecuteOptions {
  fullRefresh?: boolean;
  /**
   * Also report each table's row count afterwards. An exact count scans the table's row versions
   * once it has deleted rows: at 24 h of history it added ~130 ms to every incremental run, so only
   * callers that show the counts (the CLI) ask for them.
   */
  countRows?: boolean;
  /** Called after each action, for progress logs. */
  onAction?: (result: ActionResult) => void;
}

const SAMPLE_ROWS = 10;

/** Runs every SQL string, each of which may hold several statements. Returns each string's last statement's change count. */
async function runScript(connection: DuckDBConnection, scripts: string[]): Promise<number[]> {
  const counts: number[] = [];
  for (const script of scripts) {
    let changed = 0;
    const statements = await connection.extractStatements(script);
    for (let index = 0; index < statements.count; index++) {
      const prepared = await statements.prepare(index);
      try {
        changed = (await prepared.run()).rowsChanged;
      } finally {
        // Free DuckDB's side now: left to the garbage collector, each run's statements pile up in
        // DuckDB's memory (megabytes a run) until a long-lived runner hits its memory limit.
        prepared.destroySync();
      }
    }
    counts.push(changed);
  }
  return counts;
}

async function inTransaction<T>(connection: DuckDBConnection, work: () => Promise<T>): Promise<T> {
  await connection.run("begin transaction");
  try {
    const value = await work();
    await connection.run("commit");
    return value;
  } catch (error) {
    await connection.run("rollback").catch(() => undefined);
    throw error;
  }
}

/** Counts are kept by DuckDB per table, so this is cheap even on large tables. */
async function countRows(connection: DuckDBConnection, target: string): Promise<number> {
  const reader = await connection.runAndReadAll(`select count(*) as n from ${target}`);
  return Number(reader.getRowObjectsJS()[0]?.n ?? 0);
}

function plain(value: unknown): unknown {
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object" && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

export function plainRows(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((row) => plain(row) as Record<string, unknown>);
}

async function executeAction(connection: DuckDBConnection, action: Action, options: ExecuteOptions): Promise<ActionResult> {
  const started = performance.now();
  const base = { name: action.name, kind: action.kind };
  if (action.kind === "operation") {
    await inTransaction(connection, () => runScript(connection, action.operation.queries.map(toDuckdbSql)));
    return { ...base, status: "ok", mode: "operation", durationMs: performance.now() - started };
  }
  if (action.kind === "assertion") {
    const target = targetSql(action.assertion.target);
    await inTransaction(connection, async () => {
      await connection.run(`create schema if not exists ${quoteIdentifier(action.assertion.target.schema)}`);
      await connection.run(assertionViewSql(action.assertion.target, action.assertion.query));
    });
    const count = await countRows(connection, target);
    const result: ActionResult = { ...base, status: count === 0 ? "ok" : "failed", mode: "assertion", durationMs: 0 };
    if (count > 0) {
      const reader = await connection.runAndReadAll(`select * from ${target} limit ${SAMPLE_ROWS}`);
      result.violations = { count, sample: plainRows(reader.getRowObjectsJS()) };
      result.error = `assertion ${action.name} (${action.assertion.fileName}) failed: ${count} row(s) violate it, e.g. ${JSON.stringify(result.violations.sample.slice(0, 3))}`;
    }
    result.durationMs = performance.now() - started;
    return result;
  }
  const { schema, name } = action.table.target;
  const target = targetSql(action.table.target);
  const { mode, rowsChanged } = await inTransaction(connection, async () => {
    const plan = planTable(action.kind, action.table, await describeObject(connection, schema, name), options.fullRefresh ?? false);
    const counts = await runScript(connection, plan.sql);
    return { mode: plan.mode, rowsChanged: counts[plan.writeIndex] ?? 0 };
  });
  const result: ActionResult = { ...base, status: "ok", mode, durationMs: 0 };
  if (mode !== "view") {
    result.rowsChanged = rowsChanged;
    if (options.countRows) result.rows = await countRows(connection, target);
  }
  result.durationMs = performance.now() - started;
  return result;
}

/**
 * Runs the actions in dependency order. With one connection they run one after another in the given
 * order; with several, an action starts on a free connection as soon as every action it depends on in
 * this run has finished, as Dataform runs independent actions at once on BigQuery. Each action is one
 * transaction on one connection, and actions that run at the same time write different tables, so
 * they never conflict. A failed model stops every model not yet started (they would read stale
 * inputs); assertions all run, except those on the failed model, and each failure is reported.
 * Results come back in the given order.
 */
export async function executeActions(
  connections: DuckDBConnection | DuckDBConnection[],
  actions: Action[],
  options: ExecuteOptions = {}
): Promise<ActionResult[]> {
  const idle = Array.isArray(connections) ? [...connections] : [connections];
  if (idle.length === 0) throw new Error("executeActions needs at least one connection");
  const inRun = new Set(actions.map((a) => a.name));
  const results = new Map<string, ActionResult>();
  const waiting = [...actions];
  const running = new Set<Promise<void>>();
  let stopped: string | undefined;

  const finish = (result: ActionResult) => {
    results.set(result.name, result);
    options.onAction?.(result);
  };
  const ready = (action: Action) => action.deps.every((dep) => !inRun.has(dep) || results.has(dep));
  const start = (action: Action, connection: DuckDBConnection) => {
    const done = executeAction(connection, action, options)
      .catch((error: Error): ActionResult => {
        if (action.kind !== "assertion") stopped ??= action.name;
        return { name: action.name, kind: action.kind, status: "failed", durationMs: 0, error: `${action.name} failed: ${explain(action, error)}` };
      })
      .then((result) => {
        finish(result);
        idle.push(connection);
        running.delete(done);
      });
    running.add(done);
  };

  while (waiting.length > 0 || running.size > 0) {
    for (let index = 0; index < waiting.length && idle.length > 0; ) {
      const action = waiting[index]!;
      if (!ready(action)) {
        index++;
        continue;
      }
      waiting.splice(index, 1);
      if (stopped && (action.kind !== "assertion" || action.deps.includes(stopped))) {
        finish({ name: action.name, kind: action.kind, status: "skipped", durationMs: 0, error: `skipped: ${stopped} failed` });
        // A skipped action has a result, so others may be ready now: look again from the first.
        index = 0;
      } else {
        start(action, idle.pop()!);
      }
    }
    if (running.size > 0) await Promise.race(running);
    else if (waiting.length > 0) {
      // Nothing runs and nothing is ready: the given actions depend on each other in a cycle.
      throw new Error(`cannot order actions: ${waiting.map((a) => a.name).join(", ")} wait on each other`);
    }
  }
  return actions.map((action) => results.get(action.name)!);
}

/** DuckDB's message, plus what to do when the cause is a table built by an older version of its SQL. */
function explain(action: Action, error: Error): string {
  const missing = /Referenced column "([^"]+)" not found/.exec(error.message);
  if (action.kind === "incremental" && missing) {
    const model = action.name.split(".").pop();
    return `${error.message.split("\n")[0]} — the table was built by an older version of its SQL (column "${missing[1]}" is new): rebuild it with \`sightline transform --full-refresh --actions ${model}\` (what depends on it is rebuilt too)`;
  }
  return error.message;
}

function canonicalRows(rows: Record<string, unknown>[]): string[] {
  return plainRows(rows)
    .map((row) => JSON.stringify(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? null : String(v)]))))
    .sort();
}

/** A Dataform unit test passes when its query and its expected output hold the same rows (any order). */
export async function executeTest(connection: DuckDBConnection, test: CompiledTest): Promise<TestResult> {
  const started = performance.now();
  try {
    const actual = await connection.runAndReadAll(toDuckdbSql(test.testQuery));
    const expected = await connection.runAndReadAll(toDuckdbSql(test.expectedOutputQuery));
    const actualColumns = actual.columnNames();
    const expectedColumns = expected.columnNames();
    if (actualColumns.join(",") !== expectedColumns.join(",")) {
      throw new Error(`columns differ: got [${actualColumns.join(", ")}], expected [${expectedColumns.join(", ")}]`);
    }
    const got = canonicalRows(actual.getRowObjectsJS());
    const want = canonicalRows(expected.getRowObjectsJS());
    const missing = want.filter((row) => !got.includes(row));
    const unexpected = got.filter((row) => !want.includes(row));
    if (missing.length > 0 || unexpected.length > 0 || got.length !== want.length) {
      throw new Error(`rows differ: missing ${JSON.stringify(missing)}, unexpected ${JSON.stringify(unexpected)}`);
    }
    return { name: test.name, status: "ok", durationMs: performance.now() - started };
  } catch (error) {
    return { name: test.name, status: "failed", durationMs: performance.now() - started, error: `test ${test.name} (${test.fileName}): ${(error as Error).message}` };
  }
}
