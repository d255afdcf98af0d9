// The DuckDB sink on its own thread (ingest/sinks/duckdb_thread.ts), where the service owns its file:
// what the event loop sees when that thread cannot open the file or cannot commit.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../ingest/config.ts";
import { createLogger } from "../../ingest/logging.ts";
import { startService } from "../../ingest/service.ts";
import type { DetectionEvent } from "../../ingest/event.ts";
import { DuckdbSink } from "../../ingest/sinks/duckdb.ts";
import { DuckdbThreadSink } from "../../ingest/sinks/duckdb_thread.ts";
import { openDatabase } from "../../runner/database.ts";
import { ensureRawTables, rawTablesDdl } from "../../runner/raw_tables.ts";
import { startLocalService, type LocalService } from "../support/local_service.ts";

let local: LocalService;

beforeAll(async () => {
  local = await startLocalService();
});

afterAll(async () => {
  await local?.stop();
});

const event = (id: number) => ({ detection_oid: id, video_camera_oid: 7, geographical_location_oid: 3, item_name: "car", timestamp_detected: 1700000000000 });

async function post(id: number) {
  const response = await fetch(`${local.service.url}/v1/detections`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify([event(id)]) });
  return { status: response.status, retryAfter: response.headers.get("retry-after"), body: (await response.json()) as Record<string, unknown> };
}

const readiness = async () => (await fetch(`${local.service.url}/readyz`)).status;

describe("the DuckDB sink's own thread", () => {
  it("is the sink of a service that owns its file, and commits what it acknowledged", async () => {
    expect(local.service.sink).toBeInstanceOf(DuckdbThreadSink);
    expect(local.service.database).toBeUndefined();
    expect((await post(1)).status).toBe(202);
    expect(await local.service.query("select detection_oid::integer as id from detections_raw.raw_detection_events")).toEqual([{ id: 1 }]);
  });

  it("answers 503 with Retry-After and reports not ready while commits fail, then recovers", async () => {
    // A table the commit needs, gone: every commit fails until it is back.
    await local.service.query("drop table detections_raw.raw_detection_events");
    const refused = await post(2);
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe("1");
    expect(refused.body.error).toMatch(/could not commit/);
    expect(await readiness()).toBe(503);
    await local.service.query(rawTablesDdl("detections_raw")[0]!);
    // The sink waits a moment after a failure before it takes writes again (FAILURE_BACKOFF_MS).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await readiness()).toBe(200);
    expect((await post(3)).status).toBe(202);
    expect(await local.service.query("select detection_oid::integer as id from detections_raw.raw_detection_events")).toEqual([{ id: 3 }]);
  });

  it("fails start-up with DuckDB's reason when the file cannot be opened", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sightline-thread-"));
    try {
      const file = path.join(dir, "w.duckdb");
      await writeFile(file, "this is not a DuckDB database file, whatever its name says");
      const config = loadConfig({ SIGHTLINE_LOCAL: "true", PORT: "0", HOST: "127.0.0.1", SIGHTLINE_DB: file });
      await expect(startService(config, { logger: createLogger("silent") })).rejects.toThrow(/w\.duckdb/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("a sink that lets groups fill (linger)", () => {
  const events = (from: number, count: number): DetectionEvent[] =>
    Array.from({ length: count }, (_, i) => ({ detection_oid: BigInt(from + i), video_camera_oid: 7n, geographical_location_oid: 3n, item_name: "car", timestamp_detected: 1_700_000_000_000n }));

  async function withSink(linger: { events: number; ms: number }, work: (sink: DuckdbSink, groups: number[], rows: () => Promise<number>) => Promise<void>) {
    const dir = await mkdtemp(path.join(tmpdir(), "sightline-linger-"));
    const db = await openDatabase(path.join(dir, "w.duckdb"));
    try {
      await ensureRawTables(db.connection, "detections_raw");
      const groups: number[] = [];
      const sink = new DuckdbSink(await db.instance.connect(), { rawSchema: "detections_raw", linger, onCommit: (n) => groups.push(n) });
      const rows = async () => Number((await db.connection.runAndReadAll("select count(*) from detections_raw.raw_detection_events")).getRows()[0]![0]);
      await work(sink, groups, rows);
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  it("commits small requests that arrive within the linger together", async () => {
    await withSink({ events: 1_000, ms: 200 }, async (sink, groups) => {
      // The first waits for the second, and both commit in one group.
      await Promise.all([sink.write(events(1, 10), []), new Promise((r) => setTimeout(r, 20)).then(() => sink.write(events(11, 10), []))]);
      expect(groups).toEqual([20]);
      await sink.close();
    });
  });

  it("starts the group at once when enough events wait (else this would wait out a minute's linger)", async () => {
    await withSink({ events: 1_000, ms: 60_000 }, async (sink, groups) => {
      await Promise.all([sink.write(events(100, 10), []), sink.write(events(200, 2_000), [])]);
      expect(groups).toEqual([2_010]);
      await sink.close();
    });
  });

  it("commits what is lingering when it is closed, without waiting the linger out", async () => {
    await withSink({ events: 1_000, ms: 60_000 }, async (sink, groups, rows) => {
      const written = sink.write(events(1, 10), []);
      await sink.close();
      expect(await written).toEqual({ written: 10 });
      expect(groups).toEqual([10]);
      expect(await rows()).toBe(10);
    });
  });
});
