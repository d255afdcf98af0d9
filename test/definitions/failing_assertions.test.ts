// The graph's assertions guard the contracts: when one returns rows the run fails and names them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWarehouse, insertRawEvents, writeLocations, type Location, type TestWarehouse } from "../support/warehouse.ts";
import { copyOf, expectRunOk, MINUTE_MS, resetWarehouse } from "./behaviour_support.ts";

const GOOD: Location[] = [
  { geographical_location_oid: 1n, geographical_location: "Harbour gate" },
  { geographical_location_oid: 2n, geographical_location: "Depot" },
];

describe("failing assertions fail the run and name the rows", () => {
  let warehouse: TestWarehouse;
  beforeAll(async () => {
    warehouse = await createWarehouse();
  });
  afterAll(() => warehouse?.close());

  it("a location named twice in Dataset B fails geographical_locations_unique with that oid", async () => {
    await resetWarehouse(warehouse);
    const now = Date.now();
    await writeLocations(warehouse, [...GOOD, { geographical_location_oid: 2n, geographical_location: "Depot (old name)" }]);
    await insertRawEvents(warehouse, [copyOf({ detection_oid: 1n, publish_time: new Date(now - 5 * MINUTE_MS), geographical_location_oid: 1n })]);
    const report = await warehouse.transformer.run();
    expect(report.ok).toBe(false);
    const unique = report.actions.find((a) => a.name === "detections_assertions.geographical_locations_unique")!;
    expect(unique.status).toBe("failed");
    expect(unique.violations).toEqual({ count: 1, sample: [{ geographical_location_oid: 2, rows_with_this_oid: 2 }] });
    expect(unique.error).toMatch(/geographical_locations_unique.*1 row\(s\) violate it/);
    // the other checks still passed: only this contract is broken so far
    expect(report.actions.filter((a) => a.status !== "ok").map((a) => a.name)).toEqual(["detections_assertions.geographical_locations_unique"]);
  });

  it("the same Dataset B doubles a detection joined to it, and detection_events' key check names it", async () => {
    await resetWarehouse(warehouse);
    await writeLocations(warehouse, [...GOOD, { geographical_location_oid: 2n, geographical_location: "Depot (old name)" }]);
    await insertRawEvents(warehouse, [copyOf({ detection_oid: 77n, publish_time: new Date(Date.now() - 5 * MINUTE_MS), geographical_location_oid: 2n })]);
    const report = await warehouse.transformer.run();
    expect(report.ok).toBe(false);
    const failed = Object.fromEntries(report.actions.filter((a) => a.status === "failed").map((a) => [a.name, a.violations]));
    expect(failed["detections_assertions.geographical_locations_unique"]).toMatchObject({ count: 1 });
    expect(failed["detections_assertions.detections_detection_events_assertions_uniqueKey_0"]?.sample).toEqual([
      expect.objectContaining({ detection_oid: 77 }),
    ]);
    // downstream, one detection is counted twice (rollups_reconcile agrees with the doubled table: only the key checks see it)
    const counted = await warehouse.db.connection.runAndReadAll("select sum(detections)::int as n from detections.detection_counts_hourly");
    expect(counted.getRowObjectsJS()).toEqual([{ n: 2 }]);
  });

  it("a raw row that lands after its window was read fails detection_events_fresh, which names it", async () => {
    await resetWarehouse(warehouse);
    await writeLocations(warehouse, GOOD);
    const now = Date.now();
    await insertRawEvents(warehouse, [copyOf({ detection_oid: 1n, publish_time: new Date(now - MINUTE_MS) })]);
    expectRunOk(await warehouse.transformer.run());
    // a row stamped 20 minutes ago that reaches the raw table only now (a backlog beyond late_arrival_seconds)
    const straggler = copyOf({ detection_oid: 2n, publish_time: new Date(now - 20 * MINUTE_MS), message_id: "straggler" });
    await insertRawEvents(warehouse, [straggler]);
    const report = await warehouse.transformer.run();
    expect(report.ok).toBe(false);
    const fresh = report.actions.find((a) => a.name === "detections_assertions.detection_events_fresh")!;
    expect(fresh.status).toBe("failed");
    expect(fresh.violations).toEqual({
      count: 1,
      sample: [{ detection_oid: 2, message_id: "straggler", publish_time: straggler.publish_time.toISOString() }],
    });
  });
});
