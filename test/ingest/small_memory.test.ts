// The service's DuckDB file under a small memory_limit, as an operator may set DUCKDB_MEMORY_LIMIT:
// every kind of body must still commit. DuckDB's reader for newline-delimited JSON allocates 32 MB per
// thread whatever the file's size, so at 64MB a dead letter or an NDJSON body used to fail every
// commit with "Out of Memory" (503 forever to the camera), which a 35-minute soak found.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DetectionEvent } from "../../ingest/event.ts";
import { DuckdbSink } from "../../ingest/sinks/duckdb.ts";
import { openDatabase } from "../../runner/database.ts";
import { ensureRawTables } from "../../runner/raw_tables.ts";
import type { Service } from "../../ingest/service.ts";
import { startLocalService, type LocalService } from "../support/local_service.ts";

let local: LocalService;
let service: Service;

beforeAll(async () => {
  local = await startLocalService({ DUCKDB_MEMORY_LIMIT: "64MB" });
  service = local.service;
});

afterAll(async () => {
  await local?.stop();
});

const event = (id: number) => ({ detection_oid: id, video_camera_oid: 7, geographical_location_oid: 3, item_name: "car", timestamp_detected: 1700000000000 });

async function post(body: string, contentType: string) {
  const response = await fetch(`${service.url}/v1/detections`, { method: "POST", headers: { "content-type": contentType }, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function count(sql: string): Promise<number> {
  return Number(Object.values((await service.query(sql))[0]!)[0]);
}

describe("DUCKDB_MEMORY_LIMIT=64MB", () => {
  it("commits arrays, NDJSON and dead letters", async () => {
    expect(await post(JSON.stringify([event(1), event(2)]), "application/json")).toMatchObject({ status: 202, body: { accepted: 2 } });
    expect(await post(`${JSON.stringify(event(3))}\n\n${JSON.stringify(event(4))}\n`, "application/x-ndjson")).toMatchObject({ status: 202, body: { accepted: 2 } });
    expect(await post(JSON.stringify([event(5), { detection_oid: -5 }]), "application/json")).toMatchObject({ status: 202, body: { accepted: 1, rejected: 1 } });
    expect(await post(`${JSON.stringify(event(6))}\nnot json\n`, "application/x-ndjson")).toMatchObject({ status: 202, body: { accepted: 1, rejected: 1 } });
    expect(await count("select count(*) from detections_raw.raw_detection_events where detection_oid between 1 and 6")).toBe(6);
    expect(await count("select count(*) from detections_raw.invalid_detection_events")).toBe(2);
    expect(await count("select count(*) from detections_raw.invalid_detection_events where json_extract_string(attributes, '$.index') = '1'")).toBe(2);
  });

  it("commits groups of the largest bodies the service accepts", async () => {
    // 10,000 events with 700-character names: ~8 MB per body, just under MAX_BODY_BYTES; four at
    // once make one commit group of ~32 MB of spooled JSON, half the memory limit.
    const name = "x".repeat(700);
    const body = (batch: number) =>
      JSON.stringify(Array.from({ length: 10_000 }, (_, i) => ({ ...event(1_000_000 * (batch + 1) + i), item_name: name })));
    const bodies = [0, 1, 2, 3].map(body);
    expect(Math.min(...bodies.map((b) => b.length))).toBeGreaterThan(7.5 * 1024 * 1024);
    const answers = await Promise.all(bodies.map((b) => post(b, "application/json")));
    expect(answers.map((a) => [a.status, a.body.accepted])).toEqual(Array(4).fill([202, 10_000]));
    expect(await count("select count(*) from detections_raw.raw_detection_events where detection_oid >= 1000000 and char_length(item_name) = 700")).toBe(40_000);
  });

  it("commits four of the largest bodies queued at once, in groups that fit", async () => {
    // Written straight to a sink on its own 64MB file: the first write starts a commit, the other three
    // queue behind it and would make one group of ~24 MB, which ran out of memory (503 to all three).
    const dir = await mkdtemp(path.join(tmpdir(), "sightline-small-sink-"));
    const db = await openDatabase(path.join(dir, "w.duckdb"), { memoryLimit: "64MB" });
    try {
      await ensureRawTables(db.connection, "detections_raw");
      const sink = new DuckdbSink(await db.instance.connect(), { rawSchema: "detections_raw" });
      const events = (batch: number): DetectionEvent[] =>
        Array.from({ length: 10_000 }, (_, i) => ({ detection_oid: BigInt(1_000_000 * (batch + 1) + i), video_camera_oid: 7n, geographical_location_oid: 3n, item_name: "y".repeat(700), timestamp_detected: 1_700_000_000_000n }));
      const receipts = await Promise.all([0, 1, 2, 3].map((batch) => sink.write(events(batch), [])));
      expect(receipts).toEqual(Array(4).fill({ written: 10_000 }));
      await sink.close();
      expect(Number((await db.connection.runAndReadAll("select count(*) from detections_raw.raw_detection_events")).getRows()[0]![0])).toBe(40_000);
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
