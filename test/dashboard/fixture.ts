// A warehouse with known data for the dashboard's tests, and what the dashboard must show for it,
// computed here in plain TypeScript from the raw copies and the contracts (DESIGN.md, the model
// descriptions), never with the dashboard's SQL.
//
// Everything is placed relative to one instant, `at` (a little before the test builds the warehouse):
// queries are asked "as of `at`", so the windows (5 minutes, this hour, 24 hours) are exact whatever
// the wall clock does while the test runs. Every copy is published at least 20 s before `at`, so the
// first model run (after `at`) has consumed all of them, late_arrival_seconds (10 s locally) included.
import { ensureRunLog, recordRun } from "../../runner/run_log.ts";
import type { RunReport } from "../../runner/transform.ts";
import { compareCodePoints, firstCopies, plainInt } from "../support/reference.ts";
import {
  createWarehouse,
  insertInvalidEvents,
  insertRawEvents,
  writeLocations,
  type InvalidEvent,
  type Location,
  type RawEvent,
  type TestWarehouse,
} from "../support/warehouse.ts";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
const hourOf = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;

/** mulberry32: varied but repeatable data. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 2^53 + 1: a location id JavaScript cannot hold as a number. */
export const BIG_OID = 2n ** 53n + 1n;

/** Names that test the search: SQL text, LIKE wildcards, quotes, non-ASCII. */
export const AWKWARD_NAMES = {
  injection: "Quay '; drop table x; -- 7",
  percent: "50% Plaza",
  underscore: "Under_score Lane",
  quote: "O'Brien Street",
  accented: "Kraków · Rynek 1",
};

const CITIES = ["Lisbon", "Porto", "Madrid", "Lyon", "Turin", "Ghent", "Vilnius", "Tallinn"];
const PLACES = ["Harbour", "Main Street", "Canal Lock", "Stadium East", "Airport Road"];
const ITEMS = ["person", "car", "bicycle", "dog", "bus", "truck", "umbrella", "backpack", "scooter", "cat", "motorcycle", "stroller"];

export interface Fixture {
  warehouse: TestWarehouse;
  at: Date;
  locations: Location[];
  copies: RawEvent[];
  invalid: InvalidEvent[];
  report: RunReport;
}

/**
 * ~2,000 detections over the last 26 hours at 40 known locations (one with an id beyond 2^53) and
 * two unknown ones, a burst in the last 5 minutes, identical and conflicting copies, late detections,
 * dead letters. Models built once, the run recorded in the run log.
 */
export async function buildFixture(options: { seed?: number; detections?: number } = {}): Promise<Fixture> {
  const random = seededRandom(options.seed ?? 7);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  // Skewed item choice, so rankings have clear leaders and some ties further down.
  const item = () => ITEMS[Math.min(ITEMS.length - 1, Math.floor(ITEMS.length * random() ** 2))]!;
  const at = new Date(Date.now() - 1000);
  const T = at.getTime();
  const newest = T - 20_000;

  const locations: Location[] = [];
  for (let i = 1; i <= 35; i++) {
    locations.push({ geographical_location_oid: BigInt(i), geographical_location: `${CITIES[i % CITIES.length]} · ${PLACES[i % PLACES.length]} ${i}` });
  }
  Object.values(AWKWARD_NAMES).forEach((name, i) => locations.push({ geographical_location_oid: BigInt(100 + i), geographical_location: name }));
  locations.push({ geographical_location_oid: BIG_OID, geographical_location: "Far Out Depot" });
  const known = locations.map((l) => l.geographical_location_oid);
  const unknown = [9001n, 9002n];
  // A few locations are busier than the rest, so the charts have a shape.
  const location = () => (random() < 0.03 ? pick(unknown) : random() < 0.35 ? pick(known.slice(0, 6)) : pick(known));

  const copies: RawEvent[] = [];
  let message = 0;
  // Message ids "m-…"; "a-…" sorts before them, for a copy that wins a tie on publish_time.
  const copy = (fields: Omit<RawEvent, "message_id">, prefix = "m"): RawEvent => {
    const event = { ...fields, message_id: `${prefix}-${String(++message).padStart(6, "0")}` };
    copies.push(event);
    return event;
  };
  const total = options.detections ?? 2000;
  for (let i = 0; i < total; i++) {
    // A fifth of the detections in the last 5 minutes (some just outside it), the rest over 26 hours.
    const recent = i % 5 === 0;
    const detected = recent ? T - Math.round(random() * 6 * MINUTE_MS) : T - Math.round(random() * 26 * HOUR_MS);
    // Mostly a second or two after detection; some hours late (a camera that was offline), some
    // "before" it (a camera clock running ahead: a lag of 0 or less).
    const draw = random();
    const lag = draw < 0.05 ? Math.round(random() * 3 * HOUR_MS) : draw < 0.07 ? -Math.round(random() * 2000) : 200 + Math.round(random() * 4000);
    const publish = Math.min(newest - Math.round(random() * 1000), detected + lag);
    const first = copy({
      detection_oid: 5_000_000n + BigInt(i),
      video_camera_oid: BigInt(1 + Math.floor(random() * 50)),
      geographical_location_oid: location(),
      item_name: item(),
      timestamp_detected: BigInt(detected),
      publish_time: new Date(publish),
    });
    const roll = random();
    const later = (ms: number) => new Date(Math.min(newest, publish + ms));
    if (roll < 0.12) copy({ ...first, publish_time: later(100 + Math.round(random() * 30_000)) });
    else if (roll < 0.14) copy({ ...first, item_name: item(), publish_time: later(500) }); // conflicting: another item
    else if (roll < 0.15) copy({ ...first, geographical_location_oid: pick(known), publish_time: later(800) }); // conflicting: another place
    else if (roll < 0.16) copy({ ...first, video_camera_oid: first.video_camera_oid + 1000n }, "a"); // same instant: the smaller message_id wins
  }
  copies.sort((a, b) => a.publish_time.getTime() - b.publish_time.getTime() || compareCodePoints(a.message_id, b.message_id));

  const invalid: InvalidEvent[] = Array.from({ length: 25 }, (_, i) => ({
    message_id: `dl-${i}`,
    publish_time: new Date(i < 5 ? newest - i * 60_000 : T - Math.round(random() * 26 * HOUR_MS)),
    data: '{"detection_oid":"x"}',
    reason: "detection_oid: expected an integer",
  }));

  const warehouse = await createWarehouse();
  await writeLocations(warehouse, locations);
  await insertRawEvents(warehouse, copies);
  await insertInvalidEvents(warehouse, invalid);
  const report = await warehouse.transformer.run();
  await ensureRunLog(warehouse.db.connection);
  await recordRun(warehouse.db.connection, report);
  return { warehouse, at, locations, copies, invalid, report };
}

// ---------------------------------------------------------------------------------------------------
// What the dashboard must show, from the raw copies.

const byCountThenName = <T extends { name: string; oid: bigint }>(count: (x: T) => number) => (a: T, b: T) =>
  count(b) - count(a) || compareCodePoints(a.name, b.name) || (a.oid < b.oid ? -1 : 1);

/** The figures as of `at` (the fixture's instant unless told: a page's figures are as of the server's clock). */
export function expected(fixture: Fixture, at: Date = fixture.at) {
  const T = at.getTime();
  const names = new Map(fixture.locations.map((l) => [l.geographical_location_oid, l.geographical_location]));
  const isKnown = (oid: bigint) => names.has(oid);
  const first = [...firstCopies(fixture.copies).values()];
  const currentHour = hourOf(T);
  const firstHour = currentHour - 23 * HOUR_MS;
  const inDay = (ms: number) => ms >= firstHour && ms < currentHour + HOUR_MS;

  // Real time: the view keeps every copy's content at known locations; a detection counts once.
  const realtimeFrom = T - 5 * MINUTE_MS;
  const liveCopies = fixture.copies.filter((c) => isKnown(c.geographical_location_oid) && Number(c.timestamp_detected) >= realtimeFrom);
  const perLocation = new Map<bigint, Set<bigint>>();
  for (const c of liveCopies) {
    const set = perLocation.get(c.geographical_location_oid) ?? new Set<bigint>();
    set.add(c.detection_oid);
    perLocation.set(c.geographical_location_oid, set);
  }
  const realtimeLocations = [...perLocation]
    .map(([oid, set]) => ({ oid, name: names.get(oid)!, detections: set.size }))
    .sort(byCountThenName((x) => x.detections));
  // The view's first_publish_time: earliest copy per (content, publish day); the newest of those.
  const groups = new Map<string, number>();
  for (const c of liveCopies) {
    const key = [c.detection_oid, c.video_camera_oid, c.geographical_location_oid, c.item_name, c.timestamp_detected, Math.floor(c.publish_time.getTime() / 86_400_000)].join("|");
    groups.set(key, Math.min(groups.get(key) ?? Infinity, c.publish_time.getTime()));
  }

  // Trend: first copies (all locations, unknown ones too) by hour of detection.
  const hourly = Array.from({ length: 24 }, (_, i) => {
    const hour = firstHour + i * HOUR_MS;
    return { hour, detections: first.filter((d) => hourOf(Number(d.timestamp_detected)) === hour).length };
  });
  const dayDetections = first.filter((d) => inDay(Number(d.timestamp_detected)));

  // Quality, by hour of publish_time.
  const firstOf = firstCopies(fixture.copies);
  const quality = (hours: number) => {
    const from = currentHour - (hours - 1) * HOUR_MS;
    const inWindow = (d: Date) => d.getTime() >= from && d.getTime() < currentHour + HOUR_MS;
    const received = fixture.copies.filter((c) => inWindow(c.publish_time));
    const unique = first.filter((d) => inWindow(d.publish_time)).length;
    const conflicting = received.filter((c) => {
      const f = firstOf.get(c.detection_oid)!;
      return c.video_camera_oid !== f.video_camera_oid || c.geographical_location_oid !== f.geographical_location_oid || c.item_name !== f.item_name || c.timestamp_detected !== f.timestamp_detected;
    }).length;
    const invalid = fixture.invalid.filter((e) => inWindow(e.publish_time)).length;
    const duplicates = received.length - unique;
    return {
      hours,
      eventsReceived: received.length,
      uniqueDetections: unique,
      duplicateCopies: duplicates,
      duplicateRate: received.length > 0 ? duplicates / received.length : null,
      conflictingDuplicates: conflicting,
      invalidEvents: invalid,
      invalidRate: received.length + invalid > 0 ? invalid / (received.length + invalid) : null,
      unknownLocationEvents: received.filter((c) => !isKnown(c.geographical_location_oid)).length,
    };
  };

  /** Exact lag percentile (ms) of the first copies published in one hour: the k-th smallest, k = ceil(p * n). */
  const lagPercentile = (hour: number, p: number) => {
    const lags = first
      .filter((d) => hourOf(d.publish_time.getTime()) === hour)
      .map((d) => d.publish_time.getTime() - Number(d.timestamp_detected))
      .sort((a, b) => a - b);
    return lags[Math.max(0, Math.ceil(p * lags.length) - 1)]!;
  };

  // Top items: all first copies at a location, most detected first, ties by name; top 10.
  const topItems = (oid: bigint) => {
    const counts = new Map<string, number>();
    for (const d of first) if (d.geographical_location_oid === oid) counts.set(d.item_name, (counts.get(d.item_name) ?? 0) + 1);
    return [...counts]
      .sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0]))
      .slice(0, 10)
      .map(([item, count], i) => ({ rank: i + 1, item, count }));
  };

  // The locations table: known locations with any detection, busiest over 24 h first, then by name.
  const table = [...names]
    .filter(([oid]) => first.some((d) => d.geographical_location_oid === oid))
    .map(([oid, name]) => {
      const here = first.filter((d) => d.geographical_location_oid === oid);
      const top = topItems(oid)[0]!;
      return {
        oid,
        name,
        detectionsThisHour: here.filter((d) => hourOf(Number(d.timestamp_detected)) === currentHour).length,
        detections24h: here.filter((d) => inDay(Number(d.timestamp_detected))).length,
        topItem: top.item,
        topItemCount: top.count,
      };
    })
    .sort(byCountThenName((x) => x.detections24h));

  const newestProcessed = Math.max(...first.filter((d) => d.publish_time.getTime() >= T - 24 * HOUR_MS).map((d) => d.publish_time.getTime()));
  return {
    realtime: {
      total: new Set(liveCopies.map((c) => c.detection_oid)).size,
      locations: realtimeLocations.slice(0, 15).map((l) => ({ ...l, oid: plainInt(l.oid) })),
      locationCount: realtimeLocations.length,
      newestPublishTime: groups.size > 0 ? Math.max(...groups.values()) : null,
    },
    /** Detections at one location in the real-time window. */
    realtimeAt: (oid: bigint) => perLocation.get(oid)?.size ?? 0,
    hourly,
    totals: { last24h: dayDetections.length, locations24h: new Set(dayDetections.map((d) => d.geographical_location_oid)).size },
    quality: { lastHour: quality(1), last24h: quality(24) },
    lagPercentile,
    newestProcessed,
    topItems,
    table: table.map((r) => ({ ...r, oid: plainInt(r.oid) })),
    /** Table rows whose name contains `q`, case-insensitively and literally. */
    search: (q: string) => table.filter((r) => r.name.toLowerCase().includes(q.toLowerCase())).map((r) => ({ ...r, oid: plainInt(r.oid) })),
  };
}
