// The dashboard's read-only queries. They read only the models (the tables Looker Studio reads in
// production) and the local run log, each bounded to a recent window so a refresh every few seconds
// stays cheap as the history grows. User input reaches DuckDB only as bound parameters.
import type { DuckDBConnection, DuckDBValue } from "@duckdb/node-api";
import { RUN_LOG_TABLE } from "../runner/run_log.ts";

export const REALTIME_MINUTES = 5;
export const REALTIME_LOCATIONS = 15;

type Row = Record<string, unknown>;

/** Before the first model run the tables do not exist yet: that is "no data", not an error. */
async function rows(connection: DuckDBConnection, sql: string, values?: Record<string, DuckDBValue>): Promise<Row[]> {
  try {
    const reader = await connection.runAndReadAll(sql, values);
    return reader.getRowObjectsJS() as Row[];
  } catch (error) {
    if (/does not exist/i.test((error as Error).message)) return [];
    throw error;
  }
}

// Counts are cast to DOUBLE (exact below 2^53) and times to epoch milliseconds in SQL, so the JSON
// carries plain numbers.
const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

export interface RealtimeLocation {
  oid: number;
  name: string;
  detections: number;
}

export interface Overview {
  generatedAt: number;
  realtime: { minutes: number; total: number; locations: RealtimeLocation[]; newestPublishTime: number | null };
  hourly: Array<{ hour: number; detections: number }>;
  /** Detections and locations with detections in the last 24 hours of detection time (from the hourly rollup). */
  totals: { last24h: number; locations24h: number };
  quality: QualityFigures;
  freshness: { realtimeSeconds: number | null; modelsSeconds: number | null; newestProcessedPublishTime: number | null };
  lastRun: LastRun | null;
}

export interface QualityFigures {
  hours: number;
  eventsReceived: number;
  uniqueDetections: number;
  duplicateCopies: number;
  duplicateRate: number | null;
  conflictingDuplicates: number;
  invalidEvents: number;
  invalidRate: number | null;
  unknownLocationEvents: number;
  /** From the newest hour with detections (percentiles of different hours do not add up). */
  lagP50Ms: number | null;
  lagP95Ms: number | null;
}

export interface LastRun {
  startedAt: number;
  durationMs: number;
  ok: boolean;
  assertionsPassed: number;
  assertionsFailed: number;
  rowsChanged: number;
  failures: Array<{ name: string; error: string | null }>;
}

// The window is on timestamp_detected, the raw column behind detected_at: the filter then reaches the
// raw table's scan as a plain column comparison, and DuckDB skips the row groups outside it.
export async function realtime(connection: DuckDBConnection): Promise<Overview["realtime"]> {
  // One scan: per location and, as the grouping set (), the window's total of distinct detections.
  const result = await rows(
    connection,
    `select grouping(geographical_location_oid) as is_total,
        geographical_location_oid::double as oid, any_value(geographical_location) as name,
        count(distinct detection_oid)::double as detections, epoch_ms(max(first_publish_time))::double as newest
      from detections.detection_events_enriched
      where timestamp_detected >= epoch_ms(now()::timestamp - interval ${REALTIME_MINUTES} minute)
      group by grouping sets ((geographical_location_oid), ())`
  );
  const total = result.find((r) => Number(r.is_total) === 1);
  const locations = result
    .filter((r) => Number(r.is_total) === 0)
    .map((r) => ({ oid: num(r.oid)!, name: String(r.name), detections: num(r.detections)! }))
    .sort((a, b) => b.detections - a.detections || a.oid - b.oid)
    .slice(0, REALTIME_LOCATIONS);
  return { minutes: REALTIME_MINUTES, total: num(total?.detections) ?? 0, locations, newestPublishTime: num(total?.newest) };
}

export async function hourly(connection: DuckDBConnection): Promise<Overview["hourly"]> {
  const result = await rows(
    connection,
    `select epoch_ms(detection_hour)::double as hour, sum(detections)::double as detections
      from detections.detection_counts_hourly
      where detection_hour >= date_trunc('hour', now()::timestamp) - interval 23 hour
      group by detection_hour order by detection_hour`
  );
  return result.map((r) => ({ hour: num(r.hour)!, detections: num(r.detections)! }));
}

async function totals(connection: DuckDBConnection): Promise<Overview["totals"]> {
  const [row] = await rows(
    connection,
    `select coalesce(sum(detections), 0)::double as detections, count(distinct geographical_location_oid)::double as locations
      from detections.detection_counts_hourly
      where detection_hour >= date_trunc('hour', now()::timestamp) - interval 23 hour`
  );
  return { last24h: num(row?.detections) ?? 0, locations24h: num(row?.locations) ?? 0 };
}

export async function quality(connection: DuckDBConnection, hours = 24): Promise<QualityFigures> {
  const [sums] = await rows(
    connection,
    `select coalesce(sum(events_received), 0)::double as received, coalesce(sum(unique_detections), 0)::double as uniques,
        coalesce(sum(duplicate_copies), 0)::double as duplicates, coalesce(sum(conflicting_duplicates), 0)::double as conflicting,
        coalesce(sum(invalid_events), 0)::double as invalid, coalesce(sum(unknown_location_events), 0)::double as unknown
      from detections.pipeline_quality_hourly
      where publish_hour >= date_trunc('hour', now()::timestamp) - interval ${hours - 1} hour`
  );
  const [lag] = await rows(
    connection,
    `select event_lag_p50_ms::double as p50, event_lag_p95_ms::double as p95
      from detections.pipeline_quality_hourly
      where publish_hour >= date_trunc('hour', now()::timestamp) - interval ${hours - 1} hour and event_lag_p50_ms is not null
      order by publish_hour desc limit 1`
  );
  const received = num(sums?.received) ?? 0;
  const invalid = num(sums?.invalid) ?? 0;
  const duplicates = num(sums?.duplicates) ?? 0;
  return {
    hours,
    eventsReceived: received,
    uniqueDetections: num(sums?.uniques) ?? 0,
    duplicateCopies: duplicates,
    duplicateRate: received > 0 ? duplicates / received : null,
    conflictingDuplicates: num(sums?.conflicting) ?? 0,
    invalidEvents: invalid,
    invalidRate: received + invalid > 0 ? invalid / (received + invalid) : null,
    unknownLocationEvents: num(sums?.unknown) ?? 0,
    lagP50Ms: num(lag?.p50),
    lagP95Ms: num(lag?.p95),
  };
}

async function newestProcessed(connection: DuckDBConnection): Promise<number | null> {
  // Rows arrive in publish order, so DuckDB's zone maps skip all but the newest row groups.
  const [row] = await rows(connection, "select epoch_ms(max(publish_time))::double as newest from detections.detection_events where publish_time >= now()::timestamp - interval 1 day");
  return num(row?.newest);
}

export async function lastRun(connection: DuckDBConnection): Promise<LastRun | null> {
  const [row] = await rows(
    connection,
    `select epoch_ms(started_at)::double as started_at, duration_ms, ok, assertions_passed::double as passed, assertions_failed::double as failed,
        rows_changed::double as rows_changed, details::varchar as details
      from ${RUN_LOG_TABLE} order by started_at desc limit 1`
  );
  if (!row) return null;
  const details = JSON.parse(String(row.details)) as Array<{ name: string; status: string; error: string | null }>;
  return {
    startedAt: num(row.started_at)!,
    durationMs: num(row.duration_ms)!,
    ok: Boolean(row.ok),
    assertionsPassed: num(row.passed)!,
    assertionsFailed: num(row.failed)!,
    rowsChanged: num(row.rows_changed)!,
    failures: details.filter((d) => d.status === "failed").map((d) => ({ name: d.name, error: d.error })),
  };
}

export async function overview(connection: DuckDBConnection): Promise<Overview> {
  // One connection runs one query at a time: these run in turn, each a small read.
  const generatedAt = Date.now();
  const live = await realtime(connection);
  const trend = await hourly(connection);
  const sums = await totals(connection);
  const figures = await quality(connection);
  const processed = await newestProcessed(connection);
  const run = await lastRun(connection);
  const behind = (at: number | null) => (at === null ? null : Math.max(0, (generatedAt - at) / 1000));
  return {
    generatedAt,
    realtime: live,
    hourly: trend,
    totals: sums,
    quality: figures,
    freshness: { realtimeSeconds: behind(live.newestPublishTime), modelsSeconds: behind(processed), newestProcessedPublishTime: processed },
    lastRun: run,
  };
}

export interface TopItems {
  oid: number;
  name: string | null;
  items: Array<{ rank: number; item: string; count: number }>;
}

export async function topItems(connection: DuckDBConnection, locationOid: bigint): Promise<TopItems> {
  const result = await rows(
    connection,
    `select item_rank::double as item_rank, item_name, item_count::double as item_count, geographical_location
      from detections.top_items_by_location where geographical_location_oid = $oid order by item_rank`,
    { oid: locationOid }
  );
  return {
    oid: Number(locationOid),
    name: result[0] ? (result[0].geographical_location as string | null) : null,
    items: result.map((r) => ({ rank: num(r.item_rank)!, item: String(r.item_name), count: num(r.item_count)! })),
  };
}

/** Detections at one location in the real-time window, straight from the always-fresh view. */
export async function realtimeAt(connection: DuckDBConnection, locationOid: bigint): Promise<{ oid: number; minutes: number; detections: number }> {
  const [row] = await rows(
    connection,
    `select count(distinct detection_oid)::double as detections from detections.detection_events_enriched
      where geographical_location_oid = $oid and timestamp_detected >= epoch_ms(now()::timestamp - interval ${REALTIME_MINUTES} minute)`,
    { oid: locationOid }
  );
  return { oid: Number(locationOid), minutes: REALTIME_MINUTES, detections: num(row?.detections) ?? 0 };
}

export interface LocationRow {
  oid: number;
  name: string;
  detectionsThisHour: number;
  detections24h: number;
  topItem: string;
  topItemCount: number;
}

/** Escapes LIKE's wildcards so a search for "50%" finds the text "50%". */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function locations(connection: DuckDBConnection, search: string, offset: number, limit: number): Promise<{ total: number; rows: LocationRow[] }> {
  // Locations with detections: named in top_items_by_location (rank 1 holds the top item), counted
  // from the hourly rollup. Unknown locations have no name and are counted in the quality tiles.
  const base = `
    with named as (
      select geographical_location_oid, geographical_location, item_name, item_count
      from detections.top_items_by_location
      where item_rank = 1 and geographical_location is not null and geographical_location ilike $pattern escape '\\'
    ),
    counts as (
      select geographical_location_oid,
        sum(detections) filter (where detection_hour >= date_trunc('hour', now()::timestamp)) as this_hour,
        sum(detections) as last_day
      from detections.detection_counts_hourly
      where detection_hour >= date_trunc('hour', now()::timestamp) - interval 23 hour
      group by geographical_location_oid
    )`;
  const pattern = likePattern(search);
  const [count] = await rows(connection, `${base} select count(*)::double as n from named`, { pattern });
  const result = await rows(
    connection,
    `${base}
      select named.geographical_location_oid::double as oid, named.geographical_location as name,
        coalesce(counts.this_hour, 0)::double as this_hour, coalesce(counts.last_day, 0)::double as last_day,
        named.item_name, named.item_count::double as item_count
      from named left join counts using (geographical_location_oid)
      order by last_day desc, name
      limit $limit offset $offset`,
    { pattern, limit, offset }
  );
  return {
    total: num(count?.n) ?? 0,
    rows: result.map((r) => ({
      oid: num(r.oid)!,
      name: String(r.name),
      detectionsThisHour: num(r.this_hour)!,
      detections24h: num(r.last_day)!,
      topItem: String(r.item_name),
      topItemCount: num(r.item_count)!,
    })),
  };
}
