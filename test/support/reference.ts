// A reference of what the models must hold, computed in TypeScript straight from the contracts
// (../../../shared/DESIGN.md and the model descriptions), independently of the SQL. Rows come out in
// the shape readTable gives (int64 as a number when exact, else a decimal string; timestamps as ISO
// strings), without the columns that record when a run happened (loaded_at, last_loaded_at,
// consumed_until).
import type { InvalidEvent, Location, RawEvent } from "./warehouse.ts";

export const HOUR_MS = 3_600_000;
/** The local compile's late_arrival_seconds: rows published in the last 10 s are left for the next run. */
export const LOCAL_LATE_ARRIVAL_MS = 10_000;
/** workflow_settings.yaml's late_after_seconds: a copy published more than 60 s after its detection is late. */
export const LATE_AFTER_MS = 60_000;
export const DEFAULT_TOP_X = 10;
/** Histogram buckets per factor e of event lag (~5 % wide). */
export const LAG_BUCKETS_PER_E = 20;

export type Row = Record<string, unknown>;

/** int64 as readTable returns it: a number while exact (|n| <= 2^53 - 1), else its decimal string. */
export function plainInt(value: bigint): number | string {
  return value >= -BigInt(Number.MAX_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

const iso = (ms: number) => new Date(ms).toISOString();
const hourOf = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;

/**
 * Strings ordered by Unicode code point, which is UTF-8 byte order and the order of SQL's default
 * (binary) collation. JavaScript's `<` compares UTF-16 code units, which differs above U+FFFF
 * (an emoji sorts before U+FF21 in UTF-16, after it by code point).
 */
export function compareCodePoints(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

const compareBigint = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** The first delivered copy comes first: earliest publish_time, then smallest message_id. */
export function compareDelivery(a: RawEvent, b: RawEvent): number {
  return a.publish_time.getTime() - b.publish_time.getTime() || compareCodePoints(a.message_id, b.message_id);
}

/** The first copy of each detection, keyed by detection_oid. */
export function firstCopies(copies: RawEvent[]): Map<bigint, RawEvent> {
  const first = new Map<bigint, RawEvent>();
  for (const copy of copies) {
    const seen = first.get(copy.detection_oid);
    if (!seen || compareDelivery(copy, seen) < 0) first.set(copy.detection_oid, copy);
  }
  return first;
}

function locationNames(locations: Location[]): Map<bigint, string> {
  return new Map(locations.map((l) => [l.geographical_location_oid, l.geographical_location]));
}

export interface ReferenceInput {
  /** Every delivered copy (the raw table). */
  copies: RawEvent[];
  /** Dataset B. */
  locations: Location[];
  /** Dead letters. */
  invalid?: InvalidEvent[];
  /** The time of the last run: pipeline_quality_hourly counts rows published up to now - 10 s. */
  now?: Date;
  /**
   * How far detection_events has swept late copies (int_late_copies_resolved): a detection whose first
   * copy is late and published at or after it is not loaded yet. Omitted: every late copy is swept.
   */
  resolvedUntil?: Date;
  topX?: number;
}

/** A copy published more than late_after_seconds after its detection (includes/late_copies.js). */
export function isLate(copy: RawEvent): boolean {
  return BigInt(copy.publish_time.getTime()) - copy.timestamp_detected > BigInt(LATE_AFTER_MS);
}

/**
 * The first copies detection_events holds: every on-time one, and the late ones published before
 * resolvedUntil. A detection whose first copy is a late copy not swept yet waits, whatever came after it.
 */
export function loadedFirstCopies(copies: RawEvent[], resolvedUntil?: Date): RawEvent[] {
  const until = resolvedUntil?.getTime() ?? Infinity;
  return [...firstCopies(copies).values()].filter((first) => !isLate(first) || first.publish_time.getTime() < until);
}

export function referenceDetectionEvents(copies: RawEvent[], locations: Location[], resolvedUntil?: Date): Row[] {
  const names = locationNames(locations);
  return loadedFirstCopies(copies, resolvedUntil).map((first) => {
    const name = names.get(first.geographical_location_oid);
    return {
      detection_oid: plainInt(first.detection_oid),
      video_camera_oid: plainInt(first.video_camera_oid),
      geographical_location_oid: plainInt(first.geographical_location_oid),
      first_message_id: first.message_id,
      item_name: first.item_name,
      geographical_location: name ?? null,
      timestamp_detected: plainInt(first.timestamp_detected),
      is_location_known: name !== undefined,
      detected_at: iso(Number(first.timestamp_detected)),
      publish_time: first.publish_time.toISOString(),
    };
  });
}

export function referenceCountsHourly(copies: RawEvent[], resolvedUntil?: Date): Row[] {
  const groups = new Map<string, { hour: number; location: bigint; item: string; detections: number; cameras: Set<bigint> }>();
  for (const first of loadedFirstCopies(copies, resolvedUntil)) {
    const hour = hourOf(Number(first.timestamp_detected));
    const key = JSON.stringify([hour, first.geographical_location_oid.toString(), first.item_name]);
    const group = groups.get(key) ?? { hour, location: first.geographical_location_oid, item: first.item_name, detections: 0, cameras: new Set<bigint>() };
    group.detections += 1;
    group.cameras.add(first.video_camera_oid);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => ({
    geographical_location_oid: plainInt(g.location),
    item_name: g.item,
    video_camera_oids: [...g.cameras].sort(compareBigint).map(plainInt),
    detections: g.detections,
    distinct_cameras: g.cameras.size,
    detection_hour: iso(g.hour),
  }));
}

export function referenceTopItems(copies: RawEvent[], locations: Location[], topX = DEFAULT_TOP_X, resolvedUntil?: Date): Row[] {
  const names = locationNames(locations);
  const counts = new Map<bigint, Map<string, number>>();
  for (const first of loadedFirstCopies(copies, resolvedUntil)) {
    const items = counts.get(first.geographical_location_oid) ?? new Map<string, number>();
    items.set(first.item_name, (items.get(first.item_name) ?? 0) + 1);
    counts.set(first.geographical_location_oid, items);
  }
  const rows: Row[] = [];
  for (const [location, items] of counts) {
    const ranked = [...items].sort(([itemA, countA], [itemB, countB]) => countB - countA || compareCodePoints(itemA, itemB));
    ranked.slice(0, topX).forEach(([item, count], index) =>
      rows.push({
        geographical_location_oid: plainInt(location),
        geographical_location: names.get(location) ?? null,
        item_rank: index + 1,
        item_name: item,
        item_count: count,
      })
    );
  }
  return rows;
}

/** The lag histogram's bucket of a lag in ms: 0 for lags <= 0, else floor(ln(lag) * 20) + 1. */
export function lagBucket(lagMs: number): number {
  return lagMs <= 0 ? 0 : Math.floor(Math.log(lagMs) * LAG_BUCKETS_PER_E) + 1;
}

export function lagBucketUpperMs(bucket: number): number {
  return bucket === 0 ? 0 : Math.round(Math.exp(bucket / LAG_BUCKETS_PER_E));
}

/** The smallest bucket upper bound whose cumulative count reaches percent % of all lags (exact integer test). */
export function histogramPercentile(lagsMs: number[], percent: number): number | null {
  if (lagsMs.length === 0) return null;
  const perBucket = new Map<number, number>();
  for (const lag of lagsMs) perBucket.set(lagBucket(lag), (perBucket.get(lagBucket(lag)) ?? 0) + 1);
  let cumulative = 0;
  for (const [bucket, count] of [...perBucket].sort(([a], [b]) => a - b)) {
    cumulative += count;
    if (cumulative * 100 >= percent * lagsMs.length) return lagBucketUpperMs(bucket);
  }
  throw new Error("unreachable: the cumulative count ends at 100 %");
}

/**
 * pipeline_quality_hourly counts a copy (received, unknown location, conflicting with its detection's
 * first copy; the first copy itself as a unique detection, with its lag) once the copy and its first
 * copy are both settled: on time and published up to now - 10 s, or late and published before
 * resolvedUntil (never past that cutoff).
 */
export function referenceQualityHourly(input: ReferenceInput): Row[] {
  const cutoff = (input.now ?? new Date()).getTime() - LOCAL_LATE_ARRIVAL_MS;
  const resolvedCutoff = Math.min(cutoff, input.resolvedUntil?.getTime() ?? Infinity);
  const settled = (copy: RawEvent) =>
    isLate(copy) ? copy.publish_time.getTime() < resolvedCutoff : copy.publish_time.getTime() <= cutoff;
  const known = locationNames(input.locations);
  const first = firstCopies(input.copies);
  interface Hour {
    received: number;
    unique: number;
    conflicting: number;
    unknown: number;
    invalid: number;
    lags: number[];
  }
  const hours = new Map<number, Hour>();
  const hour = (publishMs: number): Hour => {
    const key = hourOf(publishMs);
    let found = hours.get(key);
    if (!found) hours.set(key, (found = { received: 0, unique: 0, conflicting: 0, unknown: 0, invalid: 0, lags: [] }));
    return found;
  };
  for (const copy of input.copies) {
    const publishMs = copy.publish_time.getTime();
    const original = first.get(copy.detection_oid)!;
    if (!settled(copy) || !settled(original)) continue;
    const h = hour(publishMs);
    h.received += 1;
    if (
      copy.video_camera_oid !== original.video_camera_oid ||
      copy.geographical_location_oid !== original.geographical_location_oid ||
      copy.item_name !== original.item_name ||
      copy.timestamp_detected !== original.timestamp_detected
    ) {
      h.conflicting += 1;
    }
    if (!known.has(copy.geographical_location_oid)) h.unknown += 1;
  }
  for (const detection of first.values()) {
    const publishMs = detection.publish_time.getTime();
    if (!settled(detection)) continue;
    const h = hour(publishMs);
    h.unique += 1;
    h.lags.push(Number(BigInt(publishMs) - detection.timestamp_detected));
  }
  for (const dead of input.invalid ?? []) {
    const publishMs = dead.publish_time.getTime();
    if (publishMs > cutoff) continue;
    hour(publishMs).invalid += 1;
  }
  return [...hours].map(([publishHour, h]) => ({
    events_received: h.received,
    unique_detections: h.unique,
    duplicate_copies: h.received - h.unique,
    conflicting_duplicates: h.conflicting,
    unknown_location_events: h.unknown,
    invalid_events: h.invalid,
    duplicate_rate: h.received === 0 ? 0 : (h.received - h.unique) / h.received,
    event_lag_p50_ms: histogramPercentile(h.lags, 50),
    event_lag_p95_ms: histogramPercentile(h.lags, 95),
    publish_hour: iso(publishHour),
  }));
}

export interface ModelTables {
  detection_events: Row[];
  detection_counts_hourly: Row[];
  top_items_by_location: Row[];
  pipeline_quality_hourly: Row[];
}

/** Sort keys of each model's rows, so reference and warehouse rows line up one to one. */
export const MODEL_KEYS: Record<keyof ModelTables, string[]> = {
  detection_events: ["detection_oid"],
  detection_counts_hourly: ["detection_hour", "geographical_location_oid", "item_name"],
  top_items_by_location: ["geographical_location_oid", "item_rank"],
  pipeline_quality_hourly: ["publish_hour"],
};

/** Orders rows by the given key columns (numbers numerically, anything else as text by code point). */
export function sortRows(rows: Row[], keys: string[]): Row[] {
  const compareValues = (a: unknown, b: unknown) =>
    typeof a === "number" && typeof b === "number" ? a - b : compareCodePoints(String(a), String(b));
  return [...rows].sort((a, b) => {
    for (const key of keys) {
      const order = compareValues(a[key], b[key]);
      if (order !== 0) return order;
    }
    return 0;
  });
}

/** Every model the reference knows, rows sorted by MODEL_KEYS. */
export function referenceModels(input: ReferenceInput): ModelTables {
  return {
    detection_events: sortRows(referenceDetectionEvents(input.copies, input.locations, input.resolvedUntil), MODEL_KEYS.detection_events),
    detection_counts_hourly: sortRows(referenceCountsHourly(input.copies, input.resolvedUntil), MODEL_KEYS.detection_counts_hourly),
    top_items_by_location: sortRows(referenceTopItems(input.copies, input.locations, input.topX, input.resolvedUntil), MODEL_KEYS.top_items_by_location),
    pipeline_quality_hourly: sortRows(referenceQualityHourly(input), MODEL_KEYS.pipeline_quality_hourly),
  };
}
