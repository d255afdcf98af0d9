// The raw dataset lives in a DuckDB file of its own, attached under the dataset's name: the same SQL
// names reach it, its row groups have the sink's size, and files made before the split keep working.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { datasetFile, ensureSchemas, openDatabase, RAW_ROW_GROUP_SIZE, RAW_STORAGE_VERSION } from "../../runner/database.ts";
import { ensureRawTables } from "../../runner/raw_tables.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sightline-raw-file-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const values = async (db: { connection: { runAndReadAll(sql: string): Promise<{ getRowObjectsJson(): unknown[] }> } }, sql: string) =>
  (await db.connection.runAndReadAll(sql)).getRowObjectsJson();

describe("the raw dataset's own file", () => {
  it("is named after the warehouse file and the dataset", () => {
    expect(datasetFile("data/sightline.duckdb", "detections_raw")).toBe("data/sightline.detections_raw.duckdb");
    expect(datasetFile("/tmp/w.db", "raw")).toBe("/tmp/w.db.raw.duckdb");
  });

  it("holds the raw tables, reached by the dataset's name, and keeps them across a reopen", async () => {
    const file = path.join(dir, "w.duckdb");
    const db = await openDatabase(file);
    await ensureRawTables(db.connection, "detections_raw");
    await db.connection.run("insert into detections_raw.raw_detection_events values ('s', 'm1', timestamp '2026-12-01 00:00:00', null, 1, 2, 3, 'cup', 4)");
    // A model schema for the dataset is not created beside it (it would hide the attached file).
    await ensureSchemas(db.connection, ["detections_raw", "detections"]);
    expect(await values(db, "select database_name, schema_name, table_name from duckdb_tables() order by all")).toEqual([
      { database_name: "detections_raw", schema_name: "main", table_name: "invalid_detection_events" },
      { database_name: "detections_raw", schema_name: "main", table_name: "raw_detection_events" },
    ]);
    expect(await values(db, "select schema_name from duckdb_schemas() where database_name = 'w' and schema_name like 'detections%' order by 1")).toEqual([
      { schema_name: "detections" },
    ]);
    // A view in the warehouse file reading the raw file, as the staging model does.
    await db.connection.run("create view detections.v as select item_name from detections_raw.raw_detection_events");
    db.close();
    expect(existsSync(path.join(dir, "w.detections_raw.duckdb"))).toBe(true);

    const again = await openDatabase(file);
    expect(await values(again, "select item_name from detections.v")).toEqual([{ item_name: "cup" }]);
    again.close();
  });

  it("stores the raw table in row groups of RAW_ROW_GROUP_SIZE rows", async () => {
    const db = await openDatabase(path.join(dir, "w.duckdb"));
    await ensureRawTables(db.connection, "detections_raw");
    const rows = RAW_ROW_GROUP_SIZE * 3;
    await db.connection.run(
      `insert into detections_raw.raw_detection_events select 's', 'm' || i, timestamp '2026-12-01 00:00:00', null, i, 1, 1, 'cup', i from range(${rows}) r(i)`
    );
    await db.connection.run("checkpoint detections_raw");
    const [groups] = (await values(
      db,
      "select count(distinct row_group_id)::int as n, max(count)::int as largest from pragma_storage_info('detections_raw.raw_detection_events')"
    )) as Array<{ n: number; largest: number }>;
    db.close();
    // DuckDB's default row group (122,880 rows) would hold them all in one.
    expect(groups).toEqual({ n: 3, largest: RAW_ROW_GROUP_SIZE });
  });

  it("is written in RAW_STORAGE_VERSION, and a raw file written in DuckDB's default format keeps its rows and takes new ones", async () => {
    const storageVersion = async (db: Parameters<typeof values>[0], name: string) =>
      ((await values(db, `select tags from duckdb_databases() where database_name = '${name}'`)) as Array<{ tags: Array<{ key: string; value: string }> }>)[0]!.tags.find((t) => t.key === "storage_version")?.value;
    const db = await openDatabase(path.join(dir, "w.duckdb"));
    expect(await storageVersion(db, "detections_raw")).toBe(`${RAW_STORAGE_VERSION}+`);
    db.close();

    // A raw file from before: DuckDB's default format, written without the runner.
    const older = path.join(dir, "old.duckdb");
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    await connection.run(`attach '${datasetFile(older, "detections_raw")}' as r`);
    await ensureRawTables(connection, "r");
    await connection.run("insert into r.raw_detection_events values ('s', 'm1', timestamp '2026-12-01 00:00:00', null, 1, 2, 3, 'cup', 4)");
    const defaultVersion = await storageVersion({ connection }, "r");
    connection.closeSync();
    instance.closeSync();
    expect(defaultVersion).toMatch(/^v\d/);
    expect(defaultVersion).not.toBe(`${RAW_STORAGE_VERSION}+`);

    const reopened = await openDatabase(older);
    await reopened.connection.run("insert into detections_raw.raw_detection_events values ('s', 'm2', timestamp '2026-12-01 00:00:01', null, 5, 2, 3, 'mug', 6)");
    await reopened.connection.run("checkpoint detections_raw");
    reopened.close();
    const again = await openDatabase(older);
    expect(await values(again, "select message_id, item_name from detections_raw.raw_detection_events order by 1")).toEqual([
      { message_id: "m1", item_name: "cup" },
      { message_id: "m2", item_name: "mug" },
    ]);
    again.close();
  });

  it("attaches a dataset named in the configuration instead of the default", async () => {
    const db = await openDatabase(path.join(dir, "w.duckdb"), { rawDataset: "camera_raw" });
    await ensureRawTables(db.connection, "camera_raw");
    expect(await values(db, "select database_name from duckdb_databases() where not internal order by 1")).toEqual([
      { database_name: "camera_raw" },
      { database_name: "w" },
    ]);
    db.close();
    expect(existsSync(path.join(dir, "w.camera_raw.duckdb"))).toBe(true);
  });

  it("leaves a file made before the split as it was: its detections_raw schema stays the raw dataset", async () => {
    const file = path.join(dir, "old.duckdb");
    const instance = await DuckDBInstance.create(file);
    const old = await instance.connect();
    await old.run("create schema detections_raw; create table detections_raw.raw_detection_events (message_id varchar); insert into detections_raw.raw_detection_events values ('kept')");
    old.closeSync();
    instance.closeSync();

    const db = await openDatabase(file);
    await ensureRawTables(db.connection, "detections_raw");
    expect(await values(db, "select message_id from detections_raw.raw_detection_events")).toEqual([{ message_id: "kept" }]);
    expect(await values(db, "select count(*)::int as n from duckdb_databases() where database_name = 'detections_raw'")).toEqual([{ n: 0 }]);
    db.close();
    expect(existsSync(path.join(dir, "old.detections_raw.duckdb"))).toBe(false);
  });
});
