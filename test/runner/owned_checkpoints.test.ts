// Checkpoints are taken by the writer that owns a database, between its own transactions, not by
// DuckDB inside whichever commit crossed 16 MB of WAL: the sink checkpoints the raw dataset after a
// commit, the model runner the warehouse after a run.
import { statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DetectionEvent } from "../../ingest/event.ts";
import { DuckdbSink } from "../../ingest/sinks/duckdb.ts";
import { OwnedCheckpoints, RAW_CHECKPOINT_BYTES } from "../../runner/checkpoints.ts";
import { datasetFile, openDatabase, type Database } from "../../runner/database.ts";
import { ensureRawTables } from "../../runner/raw_tables.ts";
import { Transformer } from "../../runner/transform.ts";

let dir: string;
let file: string;
let db: Database;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sightline-checkpoints-"));
  file = path.join(dir, "w.duckdb");
  db = await openDatabase(file, { memoryLimit: "512MB" });
  await ensureRawTables(db.connection, "detections_raw");
});
afterEach(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

const walBytes = (database: string) => {
  try {
    return statSync(`${database}.wal`).size;
  } catch {
    return 0;
  }
};
const rawFile = () => datasetFile(file, "detections_raw");

const events = (first: number, count: number): DetectionEvent[] =>
  Array.from({ length: count }, (_, i) => ({
    detection_oid: BigInt(first + i),
    video_camera_oid: 7n,
    geographical_location_oid: 3n,
    item_name: `item ${i % 13} with a name long enough to fill the log`,
    timestamp_detected: BigInt(1_700_000_000_000 + i),
  }));

describe("the instance's own threshold", () => {
  it("is a safety net far above what the owners let through: 20 MB of commits are not checkpointed by DuckDB", async () => {
    await db.connection.run("create table big (i bigint, pad varchar)");
    // Commits smaller than a row group, so their rows go through the WAL.
    for (let k = 0; k < 20; k++) await db.connection.run(`insert into big select i, repeat('x', 100) from range(${k * 10_000}, ${(k + 1) * 10_000}) r(i)`);
    // DuckDB's default (16 MB) would have checkpointed inside that commit and emptied the WAL.
    expect(walBytes(file)).toBeGreaterThan(16 * 1024 * 1024);
  });
});

describe("OwnedCheckpoints", () => {
  it("checkpoints its database only once the WAL passed its bound, and only that database", async () => {
    await db.connection.run("insert into detections_raw.raw_detection_events select 's', 'm' || i, timestamp '2026-12-01 00:00:00', null, i, 1, 1, 'cup', i from range(5000) r(i)");
    await db.connection.run("create table m as select i from range(5000) r(i)");
    const rawBefore = walBytes(rawFile());
    const warehouseBefore = walBytes(file);
    expect(rawBefore).toBeGreaterThan(10_000);

    const lax = await OwnedCheckpoints.of(db.connection, rawBefore + 1, "detections_raw");
    expect(await lax.maybe(db.connection)).toBe(0);
    expect(walBytes(rawFile())).toBe(rawBefore);

    const strict = await OwnedCheckpoints.of(db.connection, 1024, "detections_raw");
    expect(await strict.maybe(db.connection)).toBeGreaterThan(0);
    expect(walBytes(rawFile())).toBeLessThan(1024);
    expect(walBytes(file)).toBe(warehouseBefore);

    // Without a dataset: the warehouse itself.
    const warehouse = await OwnedCheckpoints.of(db.connection, 1024);
    expect(await warehouse.maybe(db.connection)).toBeGreaterThan(0);
    expect(walBytes(file)).toBeLessThan(1024);
  });
});

describe("the DuckDB sink", () => {
  async function writeGroups(sink: DuckdbSink) {
    for (let g = 0; g < 10; g++) await sink.write(events(1 + g * 2000, 2000), []);
  }

  it("checkpoints the raw dataset after a commit once its WAL passed the bound", async () => {
    const taken: number[] = [];
    const sink = new DuckdbSink(await db.instance.connect(), { rawSchema: "detections_raw", checkpointEveryBytes: 64 * 1024, onCheckpoint: (s) => taken.push(s) });
    await writeGroups(sink);
    await sink.close();
    expect(taken.length).toBeGreaterThanOrEqual(5);
    expect(walBytes(rawFile())).toBeLessThan(64 * 1024);
    const reader = await db.connection.runAndReadAll("select count(distinct detection_oid)::int as n from detections_raw.raw_detection_events");
    expect(reader.getRowObjectsJS()[0]).toEqual({ n: 20_000 });
  });

  it("leaves a WAL under RAW_CHECKPOINT_BYTES alone", async () => {
    const taken: number[] = [];
    const sink = new DuckdbSink(await db.instance.connect(), { rawSchema: "detections_raw", onCheckpoint: (s) => taken.push(s) });
    await writeGroups(sink);
    await sink.close();
    expect(taken).toEqual([]);
    expect(walBytes(rawFile())).toBeGreaterThan(64 * 1024);
    expect(walBytes(rawFile())).toBeLessThan(RAW_CHECKPOINT_BYTES);
  });
});

describe("the model runner", () => {
  it("checkpoints the warehouse after a run whose WAL passed the bound, and reports it apart from the run", async () => {
    const run = async (checkpointEveryBytes: number) => {
      const transformer = new Transformer(db, {}, undefined, { checkpointEveryBytes });
      return transformer.run({ selection: { tags: ["never-selected"] } });
    };
    // Even a run with nothing selected leaves a WAL: the schemas it creates. A bound above it: no checkpoint.
    const lax = await run(64 * 1024 * 1024);
    expect(lax.checkpointMs).toBe(0);
    const before = walBytes(file);
    expect(before).toBeGreaterThan(0);
    const strict = await run(1);
    expect(strict.checkpointMs).toBeGreaterThan(0);
    expect(walBytes(file)).toBe(0);
  });
});
