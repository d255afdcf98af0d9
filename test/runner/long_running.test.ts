// A runner that runs every few seconds for days must not accumulate memory run after run.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWarehouse, insertRawEvents, writeLocations, type TestWarehouse } from "../support/warehouse.ts";

let warehouse: TestWarehouse;
beforeAll(async () => {
  warehouse = await createWarehouse();
  await writeLocations(warehouse, [{ geographical_location_oid: 1n, geographical_location: "Gate" }]);
  const now = Date.now();
  await insertRawEvents(
    warehouse,
    Array.from({ length: 10 }, (_, i) => ({ message_id: `m${i}`, publish_time: new Date(now - 60_000 + i), detection_oid: BigInt(i), video_camera_oid: 1n, geographical_location_oid: 1n, item_name: "car", timestamp_detected: BigInt(now - 61_000) }))
  );
});
afterAll(async () => warehouse.close());

async function duckdbMemory(): Promise<number> {
  const reader = await warehouse.db.connection.runAndReadAll("select sum(memory_usage_bytes)::bigint as bytes from duckdb_memory()");
  return Number(reader.getRowObjectsJS()[0]!.bytes);
}

describe("a long-lived runner", () => {
  it("keeps DuckDB's memory flat over many runs (prepared statements are freed)", async () => {
    for (let i = 0; i < 5; i++) await warehouse.transformer.run();
    const before = await duckdbMemory();
    for (let i = 0; i < 30; i++) await warehouse.transformer.run();
    const after = await duckdbMemory();
    // Leaking, this grew by ~2.8 MB a run (~84 MB here).
    expect(after - before).toBeLessThan(16 * 1024 * 1024);
  });
});
