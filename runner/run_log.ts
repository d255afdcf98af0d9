// Each scheduled model run leaves one row in sightline_meta.model_runs, so the dashboard can show
// the last run, its duration and its assertion results, and a restarted stack still knows them.
// In production Dataform's workflow invocations hold the same facts.
import type { DuckDBConnection } from "@duckdb/node-api";
import type { RunReport } from "./transform.ts";

// Not schema "sightline": the default database file is sightline.duckdb, and DuckDB would find the
// catalog and the schema ambiguous.
export const RUN_LOG_SCHEMA = "sightline_meta";
export const RUN_LOG_TABLE = `${RUN_LOG_SCHEMA}.model_runs`;

export async function ensureRunLog(connection: DuckDBConnection): Promise<void> {
  await connection.run(`create schema if not exists ${RUN_LOG_SCHEMA}`);
  await connection.run(`create table if not exists ${RUN_LOG_TABLE} (
    started_at timestamp not null,
    finished_at timestamp not null,
    duration_ms double not null,
    ok boolean not null,
    compiled boolean not null,
    actions integer not null,
    rows_changed bigint not null,
    assertions_passed integer not null,
    assertions_failed integer not null,
    -- One entry per action: name, kind, status, duration_ms, rows_changed, violations, error.
    details json not null
  )`);
}

export interface RunSummary {
  actions: number;
  rowsChanged: number;
  assertionsPassed: number;
  assertionsFailed: number;
}

export function summarise(report: RunReport): RunSummary {
  const assertions = report.actions.filter((a) => a.kind === "assertion");
  return {
    actions: report.actions.length,
    rowsChanged: report.actions.filter((a) => a.kind !== "assertion").reduce((sum, a) => sum + (a.rowsChanged ?? 0), 0),
    assertionsPassed: assertions.filter((a) => a.status === "ok").length,
    assertionsFailed: assertions.filter((a) => a.status === "failed").length,
  };
}

interface LoggedRun {
  startedAt: Date;
  durationMs: number;
  ok: boolean;
  compiled: boolean;
  summary: RunSummary;
  details: Array<Record<string, unknown>>;
}

async function insertRun(connection: DuckDBConnection, run: LoggedRun): Promise<void> {
  const finished = new Date(run.startedAt.getTime() + run.durationMs);
  await connection.run(`insert into ${RUN_LOG_TABLE} values ($1::timestamptz::timestamp, $2::timestamptz::timestamp, $3, $4, $5, $6, $7, $8, $9, $10::json)`, [
    run.startedAt.toISOString(),
    finished.toISOString(),
    run.durationMs,
    run.ok,
    run.compiled,
    run.summary.actions,
    run.summary.rowsChanged,
    run.summary.assertionsPassed,
    run.summary.assertionsFailed,
    JSON.stringify(run.details),
  ]);
  // The log is for the last runs, not an archive: a day of 5-second runs is plenty.
  await connection.run(`delete from ${RUN_LOG_TABLE} where started_at < (select max(started_at) from ${RUN_LOG_TABLE}) - interval 1 day`);
}

export async function recordRun(connection: DuckDBConnection, report: RunReport): Promise<void> {
  const details = report.actions.map((a) => ({
    name: a.name,
    kind: a.kind,
    status: a.status,
    duration_ms: Math.round(a.durationMs),
    rows_changed: a.rowsChanged ?? null,
    violations: a.violations?.count ?? null,
    error: a.error ?? null,
  }));
  await insertRun(connection, { startedAt: report.startedAt, durationMs: report.durationMs, ok: report.ok, compiled: report.compiled, summary: summarise(report), details });
}

/** A run that could not start its actions (the project failed to compile, the database refused). */
export async function recordFailure(connection: DuckDBConnection, startedAt: Date, durationMs: number, message: string): Promise<void> {
  await insertRun(connection, {
    startedAt,
    durationMs,
    ok: false,
    compiled: false,
    summary: { actions: 0, rowsChanged: 0, assertionsPassed: 0, assertionsFailed: 0 },
    details: [{ name: "compile", kind: "compile", status: "failed", error: message }],
  });
}
