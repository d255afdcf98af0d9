// The dashboard's read-only queries: the figures Looker Studio shows in production, read from the same
// models (schema `detections`) on the local DuckDB, plus the local run log.
//
// Rules every query here follows:
// - It reads only the models and the run log, never the raw tables (the dashboards depend on the
//   models' contract, as in production).
// - User input and the clock reach DuckDB only as bound parameters of prepared statements.
// - It stays cheap on a large history (the page refreshes every 3 s): each one is bounded by a column the
//   tables are stored in order of, so DuckDB's zone maps skip everything outside the window. Measured on
//   8.6 M raw rows (24 h at 100 events/s): ~10 ms for the real-time figures, ~40 ms for the 24-hour
//   rollup scans, 1–5 ms for the rest.
// - Before the first model run the tables do not exist: that reads as "no data", never as an error.
// - Results are JSON-safe: counts as numbers, ids as numbers when exact (beyond 2^53 as decimal
//   strings, never rounded), timestamps as epoch milliseconds (UTC).
import {
  BIGINT,
  INTEGER,
  TIMESTAMP,
  timestampValue,
  VARCHAR,
  type DuckDBConnection,
  type DuckDBPreparedStatement,
  type DuckDBType,
  type DuckDBValue,
} from "@duckdb/node-api";
import { RUN_LOG_TABLE } from "../runner/run_log.ts";

export const MODELS_SCHEMA = "detections";
export const REALTIME_MINUTES = 5;
/** Bars in the real-time chart. */
export const REALTIME_LOCATIONS = 15;
export const TREND_HOURS = 24;
export const MAX_PAGE_SIZE = 100;

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** A geographical_location_oid: a number when exact in JavaScript, else its decimal string. */
export type Oid = number | string;

type Row = Record<string, unknown>;
type Params = Record<string, { value: DuckDBValue; type: DuckDBType }>;

/** The instant the windows end at. Defaults to the server's clock; tests pin it. */
export interface At {
  now?: Date;
}

const table = (name: string) => `${MODELS_SCHEMA}.${name}`;
const ts = (ms: number) => ({ value: timestampValue(BigInt(ms) * 1000n), type: TIMESTAMP });
const startOfHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;

/** "Table … does not exist", "Schema … does not exist": the models (or the run log) are not built yet. */
function notBuiltYet(error: unknown): boolean {
  return /Catalog Error: (Table|Schema|View)[^\n]* does not exist/i.test(String((error as Error)?.message ?? error));
}

/**
 * One prepared statement: prepared, bound, run, and freed at once (left to the garbage collector, a
 * page polling every 3 s would pile up native statements between collections).
 */
async function query(connection: DuckDBConnection, sql: string, params: Params = {}): Promise<Row[]> {
  let prepared: DuckDBPreparedStatement;
  try {
    prepared = await connection.prepare(sql);
  } catch (error) {
    if (notBuiltYet(error)) return [];
    throw error;
  }
  try {
    const values: Record<string, DuckDBValue> = {};
    const types: Record<string, DuckDBType> = {};
    for (const [name, { value, type }] of Object.entries(params)) {
      values[name] = value;
      types[name] = type;
    }
    prepared.bind(values, types);
    const reader = await prepared.runAndReadAll();
    return reader.getRowObjectsJS() as Row[];
  } catch (error) {
    // A model rebuilt by a run between prepare and execute reads as missing for that instant.
    if (notBuiltYet(error)) return [];
    throw error;
  } finally {
    prepared.destroySync();
  }
}

/** Counts: exact as numbers (no count of rows on one machine reaches 2^53). */
function count(value: unknown): number {
  return value === null || value === undefined ? 0 : Number(value);
}

function numberOrNull(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  return Number(value);
}

/** An int64 id: a number when JavaScript holds it exactly, else the decimal string (never rounded). */
export function oidOf(value: unknown): Oid {
  const big = typeof value === "bigint" ? value : BigInt(value as number | string);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big.toString();
}

function epochMs(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.getTime() : Number(value);
}

// ---------------------------------------------------------------------------------------------------
// Real time: detection_events_enriched, the always-fresh view over the raw table.

export interface RealtimeLocation {
  oid: Oid;
  name: string;
  detections: number;
}

export interface Realtime {
  minutes: number;
  /** Distinct detections at known locations detected in the window (a detection counts once). */
  total: number;
  /** The busiest locations, most detections first (ties by name). */
  locations: RealtimeLocation[];
  /** Locations with detections in the window (the chart shows at most REALTIME_LOCATIONS of them). */
  locationCount: number;
  /** Newest first publish_time among the window's detections: how far the view has got. */
  newestPublishTime: number | null;
}

/**
 * The view folds copies by content and publish day, so one detection can be several rows: count
 * DISTINCT detection_oid. It filters on timestamp_detected (epoch ms) rather than detected_at: the view
 * passes a plain raw column through to the raw table's scan, where zone maps skip all but the newest
 * row groups (~10 ms instead of ~100 ms on 8.6 M raw rows). No upper bound: a camera whose clock runs a
 * little ahead is still shown live.
 */
export async function realtime(connection: DuckDBConnection, { now = new Date() }: At = {}): Promise<Realtime> {
  const from = BigInt(now.getTime() - REALTIME_MINUTES * MINUTE_MS);
  const rows = await query(
    connection,
    `with windowed as (
        select geographical_location_oid, geographical_location, detection_oid, first_publish_time
        from ${table("detection_events_enriched")}
        where timestamp_detected >= $from_ms
      ),
      counted as (
        select grouping(geographical_location_oid) as is_total, geographical_location_oid,
          any_value(geographical_location) as name, count(distinct detection_oid) as detections,
          max(first_publish_time) as newest
        from windowed
        group by grouping sets ((geographical_location_oid), ())
      )
      select *, count(*) over () - 1 as location_count
      from counted
      order by is_total desc, detections desc, name, geographical_location_oid
      limit $limit`,
    { from_ms: { value: from, type: BIGINT }, limit: { value: REALTIME_LOCATIONS + 1, type: INTEGER } }
  );
  const total = rows.find((r) => count(r.is_total) === 1);
  return {
    minutes: REALTIME_MINUTES,
    total: count(total?.detections),
    locations: rows
      .filter((r) => count(r.is_total) === 0)
      .map((r) => ({ oid: oidOf(r.geographical_location_oid), name: String(r.name), detections: count(r.detections) })),
    locationCount: total ? count(total.location_count) : 0,
    newestPublishTime: epochMs(total?.newest),
  };
}

/** Detections at one location in the real-time window. */
export async function realtimeAt(connection: DuckDBConnection, location: bigint, { now = new Date() }: At = {}): Promise<{ oid: Oid; minutes: number; detections: number }> {
  const [row] = await query(
    connection,
    `select count(distinct detection_oid) as detections
      from ${table("detection_events_enriched")}
      where geographical_location_oid = $location and timestamp_detected >= $from_ms`,
    { location: { value: location, type: BIGINT }, from_ms: { value: BigInt(now.getTime() - REALTIME_MINUTES * MINUTE_MS), type: BIGINT } }
  );
  return { oid: oidOf(location), minutes: REALTIME_MINUTES, detections: count(row?.detections) };
}

// ---------------------------------------------------------------------------------------------------
// Trend: detection_counts_hourly, by hour of detection.

export interface Trend {
  /** TREND_HOURS hours, oldest first, ending with the current hour; hours without detections are 0. */
  hours: Array<{ hour: number; detections: number }>;
  /** Their sum: detections detected in the current hour and the 23 before it, as of the last model run. */
  total: number;
  /** Distinct locations among them. */
  locations: number;
}

export async function trend(connection: DuckDBConnection, { now = new Date() }: At = {}): Promise<Trend> {
  const last = startOfHour(now.getTime());
  const first = last - (TREND_HOURS - 1) * HOUR_MS;
  const window = { from: ts(first), to: ts(last) };
  const perHour = await query(
    connection,
    `select detection_hour, sum(detections) as detections
      from ${table("detection_counts_hourly")}
      where detection_hour between $from and $to
      group by detection_hour`,
    window
  );
  // A separate scan: DuckDB's count(distinct) inside grouping sets costs ~20x a plain one here.
  const [distinct] = await query(
    connection,
    `select count(*) as locations from (
        select distinct geographical_location_oid from ${table("detection_counts_hourly")}
        where detection_hour between $from and $to)`,
    window
  );
  const byHour = new Map(perHour.map((r) => [epochMs(r.detection_hour), count(r.detections)]));
  const hours = Array.from({ length: TREND_HOURS }, (_, i) => {
    const hour = first + i * HOUR_MS;
    return { hour, detections: byHour.get(hour) ?? 0 };
  });
  return { hours, total: hours.reduce((sum, h) => sum + h.detections, 0), locations: count(distinct?.locations) };
}

// ---------------------------------------------------------------------------------------------------
// Data quality: pipeline_quality_hourly, by hour of publish_time (one row an hour: tiny).

export interface QualityFigures {
  /** Clock hours covered: the current one and hours - 1 before it. */
  hours: number;
  /** Valid copies delivered to the raw table. */
  eventsReceived: number;
  uniqueDetections: number;
  /** Copies that were not their detection's first copy. */
  duplicateCopies: number;
  /** duplicateCopies / eventsReceived (null without events). */
  duplicateRate: number | null;
  conflictingDuplicates: number;
  /** Dead letters: events the ingest service rejected. */
  invalidEvents: number;
  /** invalidEvents / (invalidEvents + eventsReceived). */
  invalidRate: number | null;
  /** Copies whose location is not in Dataset B (kept, flagged). */
  unknownLocationEvents: number;
  /**
   * publish_time − detected_at of the newest hour in the window that has detections (percentiles of
   * different hours do not add up, so they are never summed or averaged).
   */
  lagHour: number | null;
  lagP50Ms: number | null;
  lagP95Ms: number | null;
  /** The highest hourly p95 in the window: the worst hour. */
  worstLagP95Ms: number | null;
}

export interface Quality {
  lastHour: QualityFigures;
  last24h: QualityFigures;
}

export async function quality(connection: DuckDBConnection, { now = new Date() }: At = {}): Promise<Quality> {
  const current = startOfHour(now.getTime());
  // Both windows in one pass over at most 24 rows; columns are prefixed w1_ and w24_.
  const windowHours = [1, TREND_HOURS];
  const columns = windowHours
    .map((hours) => {
      const inWindow = `publish_hour >= $from_${hours}`;
      const withLag = `${inWindow} and event_lag_p50_ms is not null`;
      return `
        coalesce(sum(events_received) filter (where ${inWindow}), 0) as w${hours}_received,
        coalesce(sum(unique_detections) filter (where ${inWindow}), 0) as w${hours}_unique,
        coalesce(sum(duplicate_copies) filter (where ${inWindow}), 0) as w${hours}_duplicates,
        coalesce(sum(conflicting_duplicates) filter (where ${inWindow}), 0) as w${hours}_conflicting,
        coalesce(sum(invalid_events) filter (where ${inWindow}), 0) as w${hours}_invalid,
        coalesce(sum(unknown_location_events) filter (where ${inWindow}), 0) as w${hours}_unknown,
        max(publish_hour) filter (where ${withLag}) as w${hours}_lag_hour,
        arg_max(event_lag_p50_ms, publish_hour) filter (where ${withLag}) as w${hours}_p50,
        arg_max(event_lag_p95_ms, publish_hour) filter (where ${withLag}) as w${hours}_p95,
        max(event_lag_p95_ms) filter (where ${withLag}) as w${hours}_worst_p95`;
    })
    .join(",");
  const params: Params = { from: ts(current - (TREND_HOURS - 1) * HOUR_MS), to: ts(current) };
  for (const hours of windowHours) params[`from_${hours}`] = ts(current - (hours - 1) * HOUR_MS);
  const [row = {}] = await query(
    connection,
    `select ${columns}
      from ${table("pipeline_quality_hourly")}
      where publish_hour between $from and $to`,
    params
  );
  const figures = (hours: number): QualityFigures => {
    const column = (name: string) => row[`w${hours}_${name}`];
    const received = count(column("received"));
    const duplicates = count(column("duplicates"));
    const invalid = count(column("invalid"));
    return {
      hours,
      eventsReceived: received,
      uniqueDetections: count(column("unique")),
      duplicateCopies: duplicates,
      duplicateRate: received > 0 ? duplicates / received : null,
      conflictingDuplicates: count(column("conflicting")),
      invalidEvents: invalid,
      invalidRate: received + invalid > 0 ? invalid / (received + invalid) : null,
      unknownLocationEvents: count(column("unknown")),
      lagHour: epochMs(column("lag_hour")),
      lagP50Ms: numberOrNull(column("p50")),
      lagP95Ms: numberOrNull(column("p95")),
      worstLagP95Ms: numberOrNull(column("worst_p95")),
    };
  };
  return { lastHour: figures(1), last24h: figures(TREND_HOURS) };
}

// ---------------------------------------------------------------------------------------------------
// Freshness and the last model run.

/**
 * Newest publish_time that the scheduled models have processed. detection_events is appended in
 * publish order, so ORDER BY … LIMIT 1 over the last day reads only its newest row groups (~2 ms,
 * where max() over the same rows takes ~20 ms).
 */
export async function newestProcessedPublishTime(connection: DuckDBConnection, { now = new Date() }: At = {}): Promise<number | null> {
  const [row] = await query(
    connection,
    `select publish_time from ${table("detection_events")}
      where publish_time >= $from
      order by publish_time desc
      limit 1`,
    { from: ts(now.getTime() - 24 * HOUR_MS) }
  );
  return epochMs(row?.publish_time);
}

export interface LastRun {
  startedAt: number;
  finishedAt: number;
  durationMs: number;
  ok: boolean;
  /** Whether the run recompiled the project (definitions changed). */
  compiled: boolean;
  rowsChanged: number;
  assertionsPassed: number;
  assertionsFailed: number;
  /** Failed actions and assertions, in run order. */
  failures: Array<{ name: string; kind: string; error: string | null }>;
}

export async function lastRun(connection: DuckDBConnection): Promise<LastRun | null> {
  // The log holds a day of runs at most (run_log.ts prunes it): a top-1 over a few thousand rows.
  const [row] = await query(
    connection,
    `select started_at, finished_at, duration_ms, ok, compiled, rows_changed, assertions_passed, assertions_failed, details::varchar as details
      from ${RUN_LOG_TABLE}
      order by started_at desc
      limit 1`
  );
  if (!row) return null;
  let details: Array<{ name?: unknown; kind?: unknown; status?: unknown; error?: unknown }> = [];
  try {
    details = JSON.parse(String(row.details)) as typeof details;
  } catch {
    // A malformed details column still leaves the run's own figures worth showing.
  }
  return {
    startedAt: epochMs(row.started_at)!,
    finishedAt: epochMs(row.finished_at)!,
    durationMs: Number(row.duration_ms),
    ok: Boolean(row.ok),
    compiled: Boolean(row.compiled),
    rowsChanged: count(row.rows_changed),
    assertionsPassed: count(row.assertions_passed),
    assertionsFailed: count(row.assertions_failed),
    failures: details
      .filter((d) => d.status === "failed")
      .map((d) => ({ name: String(d.name), kind: String(d.kind ?? "action"), error: d.error == null ? null : String(d.error) })),
  };
}

// ---------------------------------------------------------------------------------------------------
// Everything the page shows at once.

export interface Overview {
  /** The instant the windows end at (epoch ms), the server's clock. */
  generatedAt: number;
  realtime: Realtime;
  /** Detections per hour, last 24 hours, by detection time. */
  hourly: Trend["hours"];
  totals: { last24h: number; locations24h: number };
  quality: Quality;
  freshness: {
    /** Seconds from the newest publish_time visible in any model (the real-time view or the scheduled ones) to now. */
    seconds: number | null;
    /** Seconds behind, as seen in the real-time view (detection_events_enriched). */
    realtimeSeconds: number | null;
    /** Seconds behind, as seen by the scheduled models (detection_events and everything after it). */
    modelsSeconds: number | null;
    newestPublishTime: number | null;
    newestProcessedPublishTime: number | null;
  };
  lastRun: LastRun | null;
}

export async function overview(connection: DuckDBConnection, { now = new Date() }: At = {}): Promise<Overview> {
  // One connection runs one statement at a time: these run in turn, each a small read.
  const at = { now };
  const live = await realtime(connection, at);
  const hourly = await trend(connection, at);
  const figures = await quality(connection, at);
  const processed = await newestProcessedPublishTime(connection, at);
  const run = await lastRun(connection);
  const newest = Math.max(live.newestPublishTime ?? -Infinity, processed ?? -Infinity);
  const behind = (time: number | null) => (time === null || !Number.isFinite(time) ? null : Math.max(0, (now.getTime() - time) / 1000));
  return {
    generatedAt: now.getTime(),
    realtime: live,
    hourly: hourly.hours,
    totals: { last24h: hourly.total, locations24h: hourly.locations },
    quality: figures,
    freshness: {
      seconds: behind(newest),
      realtimeSeconds: behind(live.newestPublishTime),
      modelsSeconds: behind(processed),
      newestPublishTime: Number.isFinite(newest) ? newest : null,
      newestProcessedPublishTime: processed,
    },
    lastRun: run,
  };
}

// ---------------------------------------------------------------------------------------------------
// Top items: top_items_by_location, the batch job's output (all history, as of the last model run).

export interface TopItems {
  oid: Oid | null;
  name: string | null;
  items: Array<{ rank: number; item: string; count: number }>;
}

export async function topItems(connection: DuckDBConnection, location: bigint): Promise<TopItems> {
  const rows = await query(
    connection,
    `select geographical_location, item_rank, item_name, item_count
      from ${table("top_items_by_location")}
      where geographical_location_oid = $location
      order by item_rank`,
    { location: { value: location, type: BIGINT } }
  );
  return {
    oid: oidOf(location),
    name: rows[0] ? ((rows[0].geographical_location as string | null) ?? null) : null,
    items: rows.map((r) => ({ rank: count(r.item_rank), item: String(r.item_name), count: count(r.item_count) })),
  };
}

/**
 * The top items of the busiest location: the busiest in the real-time window, else the one with most
 * detections over 24 hours; no location at all before the first detections.
 */
export async function topItemsOfBusiest(connection: DuckDBConnection, at: At = {}): Promise<TopItems> {
  const live = await realtime(connection, at);
  const busiest = live.locations[0]?.oid ?? (await locations(connection, { limit: 1 }, at)).rows[0]?.oid;
  if (busiest === undefined) return { oid: null, name: null, items: [] };
  return topItems(connection, BigInt(busiest));
}

// ---------------------------------------------------------------------------------------------------
// The locations table.

export interface LocationRow {
  oid: Oid;
  name: string;
  /** Detections detected in the current clock hour. */
  detectionsThisHour: number;
  /** Detections detected in the current hour and the 23 before it. */
  detections24h: number;
  topItem: string;
  topItemCount: number;
}

export interface LocationPage {
  /** Locations matching the search, over all pages. */
  total: number;
  offset: number;
  limit: number;
  rows: LocationRow[];
}

export interface LocationSearch {
  /** Case-insensitive substring of the location's name, taken literally (no wildcards). */
  q?: string;
  offset?: number;
  limit?: number;
}

/**
 * Known locations with detections (rank 1 of top_items_by_location names each once, with its top
 * item), busiest over 24 hours first, then by name. The search is strpos on lower-cased text, so
 * neither LIKE's % and _ nor quotes mean anything in it; the text itself is a bound parameter.
 */
export async function locations(connection: DuckDBConnection, search: LocationSearch = {}, { now = new Date() }: At = {}): Promise<LocationPage> {
  const q = search.q ?? "";
  const offset = Math.max(0, Math.trunc(search.offset ?? 0));
  const limit = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.trunc(search.limit ?? 25)));
  const current = startOfHour(now.getTime());
  const rows = await query(
    connection,
    `with named as (
        select geographical_location_oid, geographical_location, item_name, item_count
        from ${table("top_items_by_location")}
        where item_rank = 1
          and geographical_location is not null
          and strpos(lower(geographical_location), lower($q)) > 0
      ),
      counted as (
        select geographical_location_oid,
          sum(detections) filter (where detection_hour = $to) as this_hour,
          sum(detections) as last_24h
        from ${table("detection_counts_hourly")}
        where detection_hour between $from and $to
        group by geographical_location_oid
      )
      select named.geographical_location_oid, named.geographical_location, named.item_name, named.item_count,
        coalesce(counted.this_hour, 0) as this_hour, coalesce(counted.last_24h, 0) as last_24h,
        count(*) over () as total
      from named
      left join counted using (geographical_location_oid)
      order by last_24h desc, named.geographical_location, named.geographical_location_oid
      limit $limit offset $offset`,
    {
      q: { value: q, type: VARCHAR },
      from: ts(current - (TREND_HOURS - 1) * HOUR_MS),
      to: ts(current),
      limit: { value: limit, type: INTEGER },
      offset: { value: offset, type: INTEGER },
    }
  );
  let total = count(rows[0]?.total);
  // Past the last page the window function has no row to report the total on: count separately.
  if (rows.length === 0 && offset > 0) {
    const [row] = await query(
      connection,
      `select count(*) as total from ${table("top_items_by_location")}
        where item_rank = 1 and geographical_location is not null and strpos(lower(geographical_location), lower($q)) > 0`,
      { q: { value: q, type: VARCHAR } }
    );
    total = count(row?.total);
  }
  return {
    total,
    offset,
    limit,
    rows: rows.map((r) => ({
      oid: oidOf(r.geographical_location_oid),
      name: String(r.geographical_location),
      detectionsThisHour: count(r.this_hour),
      detections24h: count(r.last_24h),
      topItem: String(r.item_name),
      topItemCount: count(r.item_count),
    })),
  };
}
