// Shared pieces of the model behaviour tests: reading the models back in the reference's shape,
// emptying a warehouse between property runs (keeping its compiled graph), and building copies.
import v8 from "node:v8";
import vm from "node:vm";
import { expect } from "vitest";
import type { RunReport } from "../../runner/transform.ts";
import { LOCAL_LATE_ARRIVAL_MS, MODEL_KEYS, sortRows, type ModelTables, type Row } from "../support/reference.ts";
import { RAW_SCHEMA, readTable, type RawEvent, type TestWarehouse } from "../support/warehouse.ts";

export const MODELS_SCHEMA = "detections";
export const ASSERTIONS_SCHEMA = "detections_assertions";

/** Columns that record when a run happened, not what the data says: left out of comparisons. */
const RUN_TIME_COLUMNS = ["loaded_at", "last_loaded_at", "last_published_at", "consumed_until", "resolved_until"];

export async function readModel(warehouse: TestWarehouse, model: keyof ModelTables): Promise<Row[]> {
  const rows = await readTable(warehouse, `${MODELS_SCHEMA}.${model}`, "all");
  const kept = rows.map((row) => Object.fromEntries(Object.entries(row).filter(([column]) => !RUN_TIME_COLUMNS.includes(column))));
  return sortRows(kept, MODEL_KEYS[model]);
}

export async function readModels(warehouse: TestWarehouse): Promise<ModelTables> {
  return {
    detection_events: await readModel(warehouse, "detection_events"),
    detection_counts_hourly: await readModel(warehouse, "detection_counts_hourly"),
    top_items_by_location: await readModel(warehouse, "top_items_by_location"),
    pipeline_quality_hourly: await readModel(warehouse, "pipeline_quality_hourly"),
  };
}

/**
 * How far detection_events has swept late copies (int_late_copies_resolved); undefined before its first
 * run. Rounded up to the millisecond: the table keeps microseconds (a sweep of everything landed ends
 * 1 µs after the newest row), the fixtures' publish times are whole milliseconds, and for those
 * `publish < ceil(bound)` in ms is `publish < bound` in µs.
 */
export async function readResolvedUntil(warehouse: TestWarehouse): Promise<Date | undefined> {
  const reader = await warehouse.db.connection.runAndReadAll(
    `select epoch_us(max(resolved_until)) as micros from ${MODELS_SCHEMA}.int_late_copies_resolved`
  );
  const micros = reader.getRowObjectsJS()[0]?.micros;
  if (micros === null || micros === undefined) return undefined;
  const value = BigInt(micros as bigint);
  return new Date(Number((value + 999n) / 1000n));
}

/** Every table of the warehouse (models and intermediates), run-time columns left out, as sorted JSON lines. */
export async function snapshotTables(warehouse: TestWarehouse): Promise<Record<string, string[]>> {
  const reader = await warehouse.db.connection.runAndReadAll(
    `select table_name from information_schema.tables where table_schema = '${MODELS_SCHEMA}' and table_type = 'BASE TABLE' order by table_name`
  );
  const snapshot: Record<string, string[]> = {};
  for (const { table_name } of reader.getRowObjectsJS()) {
    const rows = await readTable(warehouse, `${MODELS_SCHEMA}.${String(table_name)}`, "all");
    snapshot[String(table_name)] = rows
      .map((row) => JSON.stringify(Object.fromEntries(Object.entries(row).filter(([column]) => !RUN_TIME_COLUMNS.includes(column)))))
      .sort();
  }
  return snapshot;
}

v8.setFlagsFromString("--expose-gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;

/** Drops every model and assertion and empties the raw tables; the Transformer keeps its compiled graph. */
export async function resetWarehouse(warehouse: TestWarehouse): Promise<void> {
  // The runner leaves each statement's native resources (DuckDB prepared statements, with their hash
  // tables) to the JavaScript garbage collector, which seldom runs in a process this small: DuckDB's
  // memory grows ~3 MB a run until its memory_limit fails a run ("Out of Memory Error"). Collect here
  // so hundreds of property runs (and fast-check's shrinking) stay within the limit.
  collectGarbage();
  const connection = warehouse.db.connection;
  await connection.run(`drop schema if exists ${MODELS_SCHEMA} cascade`);
  await connection.run(`drop schema if exists ${ASSERTIONS_SCHEMA} cascade`);
  await connection.run(`delete from ${RAW_SCHEMA}.raw_detection_events`);
  await connection.run(`delete from ${RAW_SCHEMA}.invalid_detection_events`);
}

/** A run in which every action and assertion passed; on failure the message names what failed. */
export function expectRunOk(report: RunReport): void {
  const failed = report.actions.filter((a) => a.status !== "ok").map((a) => `${a.name}: ${a.status} ${a.error ?? ""}`);
  expect(failed).toEqual([]);
  expect(report.ok).toBe(true);
}

let messageCounter = 0;

/** One delivered copy; unset fields get plain defaults and a fresh message_id. */
export function copyOf(fields: Partial<RawEvent> & Pick<RawEvent, "detection_oid" | "publish_time">): RawEvent {
  messageCounter += 1;
  return {
    message_id: `msg-${String(messageCounter).padStart(8, "0")}`,
    video_camera_oid: 1n,
    geographical_location_oid: 1n,
    item_name: "car",
    timestamp_detected: BigInt(fields.publish_time.getTime() - 1500),
    ...fields,
  };
}

export const MINUTE_MS = 60_000;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until Date.now() >= at (ms since the epoch). */
export async function sleepUntil(at: number): Promise<void> {
  const wait = at - Date.now();
  if (wait > 0) await sleep(wait);
}

/**
 * Publish times the local sink could have stamped on rows for the next run. The sink stamps
 * publish_time at commit, so rows committed after a run are published after that run's wall clock
 * minus the late-arrival margin (the window pipeline_quality_hourly and the lag histogram consumed
 * ends there); and a run counts them once they are 10 s old. Returns `count` increasing times in
 * (runEndedAt - 10 s, runEndedAt - 10 s + widthMs], after waiting until the last of them is 10 s old.
 */
export async function nextPublishTimes(runEndedAt: number, count: number, widthMs = 150): Promise<Date[]> {
  if (count > widthMs) throw new Error(`${count} distinct publish times need a window of at least ${count} ms`);
  const from = runEndedAt - LOCAL_LATE_ARRIVAL_MS + 1;
  const wait = from + widthMs + LOCAL_LATE_ARRIVAL_MS - Date.now();
  if (wait > 0) await sleep(wait);
  return Array.from({ length: count }, (_, i) => new Date(from + Math.floor((i * widthMs) / Math.max(count, 1))));
}
export const DAY_MS = 86_400_000;

/** A small deterministic pseudo-random generator (mulberry32), for fixtures that are varied but repeatable. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` copies with publish times in [from, to] (ms), in publish order: detections repeated (identical
 * and conflicting copies), some at unknown locations (oid 404), late detections up to 2 days old,
 * ids around 2^53 and awkward item names.
 */
export function sampleCopies(options: { count: number; from: number; to: number; seed: number; prefix?: string }): RawEvent[] {
  const random = seededRandom(options.seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const oids = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n];
  const items = ["car", "bus", "🚗", "x'; --", "é", "e\u0301"];
  const seen = new Map<bigint, RawEvent>();
  const copies: RawEvent[] = [];
  for (let i = 0; i < options.count; i++) {
    const publish = new Date(Math.round(options.from + ((options.to - options.from) * (i + random())) / options.count));
    const oid = pick(oids);
    const earlier = seen.get(oid);
    const copy: RawEvent =
      earlier && random() < 0.5
        ? { ...earlier, message_id: `${options.prefix ?? "s"}${i}`, publish_time: publish }
        : {
            message_id: `${options.prefix ?? "s"}${i}`,
            publish_time: publish,
            detection_oid: oid,
            video_camera_oid: pick([1n, 2n, 3n]),
            geographical_location_oid: pick([1n, 2n, 404n]),
            item_name: pick(items),
            timestamp_detected: BigInt(publish.getTime() - pick([0, 1500, 60_000, 2 * DAY_MS])),
          };
    if (!earlier) seen.set(oid, copy);
    copies.push(copy);
  }
  return copies.sort((a, b) => a.publish_time.getTime() - b.publish_time.getTime());
}
