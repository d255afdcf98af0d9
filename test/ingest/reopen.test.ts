// The DuckDB sink reopens the file it owns every DUCKDB_REOPEN_EVERY_ROWS rows, so that what DuckDB
// keeps per appended row group does not grow for the life of the process. Reopening happens between
// commits while requests keep arriving: every acknowledged event must be stored exactly once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../../ingest/service.ts";
import { startLocalService, type LocalService } from "../support/local_service.ts";

let local: LocalService;
let service: Service;

beforeAll(async () => {
  local = await startLocalService({ DUCKDB_REOPEN_EVERY_ROWS: "1000" });
  service = local.service;
});

afterAll(async () => {
  await local?.stop();
});

const batch = (first: number) =>
  JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ detection_oid: first + i, video_camera_oid: 7, geographical_location_oid: 3, item_name: `item ${i % 13}`, timestamp_detected: 1700000000000 + i })));

async function reopenings(): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return Number(/^sightline_sink_reopen_duration_seconds_count (\d+)$/m.exec(text)?.[1] ?? Number.NaN);
}

describe("DUCKDB_REOPEN_EVERY_ROWS", () => {
  it("reopens the file between commits and stores every acknowledged event once", async () => {
    expect(await reopenings()).toBe(0);
    let accepted = 0;
    // 8 requests at a time, so some wait for a commit while the file is being reopened.
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, async (_, k) => {
          const response = await fetch(`${service.url}/v1/detections`, { method: "POST", headers: { "content-type": "application/json" }, body: batch(1 + (round * 8 + k) * 500) });
          return { status: response.status, body: (await response.json()) as { accepted: number } };
        })
      );
      for (const answer of answers) {
        expect(answer.status).toBe(202);
        accepted += answer.body.accepted;
      }
    }
    expect(accepted).toBe(20_000);
    // Groups of up to 4,000 events, each over the 1,000-row threshold: several reopenings at least.
    expect(await reopenings()).toBeGreaterThanOrEqual(4);
    // Asked of the instance open now, on the sink's thread.
    const rows = await service.query(
      "select count(*)::integer as n, count(distinct detection_oid)::integer as ids, min(detection_oid)::integer as lo, max(detection_oid)::integer as hi from detections_raw.raw_detection_events"
    );
    expect(rows[0]).toEqual({ n: 20_000, ids: 20_000, lo: 1, hi: 20_000 });
  });
});
