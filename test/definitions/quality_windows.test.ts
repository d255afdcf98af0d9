// The lag histogram and pipeline_quality_hourly cut their publish_time windows at slightly different
// moments. A detection that falls between the two cuts must still end in its hour's percentiles.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOUR_MS, referenceQualityHourly } from "../support/reference.ts";
import { createWarehouse, insertRawEvents, writeLocations, type TestWarehouse } from "../support/warehouse.ts";
import { copyOf, expectRunOk, readModel, sleep } from "./behaviour_support.ts";

describe("pipeline_quality_hourly when the histogram sees a detection one run later", () => {
  let warehouse: TestWarehouse;
  beforeAll(async () => {
    warehouse = await createWarehouse();
    await writeLocations(warehouse, [{ geographical_location_oid: 3n, geographical_location: "Quay" }]);
    await warehouse.transformer.graph();
  });
  afterAll(async () => warehouse.close());

  it("recomputes the hour's percentiles once the histogram has it", async () => {
    // Published 9.5 s ago: inside the 10 s late-arrival margin now, outside it a moment later.
    const published = Date.now() - 9_500;
    const copy = copyOf({ detection_oid: 77n, publish_time: new Date(published), timestamp_detected: BigInt(published - 2_100), geographical_location_oid: 3n });
    await insertRawEvents(warehouse, [copy]);
    const upToHistogram = ["stg_detection_events", "geographical_locations", "detection_events", "detection_counts_hourly", "int_detection_lags_bucketed"];
    expectRunOk(await warehouse.transformer.run({ selection: { actions: upToHistogram, includeAssertions: false } }));
    await sleep(1_000); // the histogram's window ended before the detection; the quality model's will not
    expectRunOk(await warehouse.transformer.run({ selection: { actions: ["int_items_counted_by_location", "pipeline_quality_hourly", "int_top_items_ranked", "top_items_by_location"], includeAssertions: false } }));
    expectRunOk(await warehouse.transformer.run());
    expectRunOk(await warehouse.transformer.run());

    const rows = await readModel(warehouse, "pipeline_quality_hourly");
    const hour = new Date(Math.floor(published / HOUR_MS) * HOUR_MS).toISOString();
    const row = rows.find((r) => r.publish_hour === hour)!;
    const expected = referenceQualityHourly({ copies: [copy], locations: [{ geographical_location_oid: 3n, geographical_location: "Quay" }], now: new Date() }).find((r) => r.publish_hour === hour)!;
    expect(row.unique_detections).toBe(1);
    expect(row.event_lag_p50_ms).toBe(expected.event_lag_p50_ms);
    expect(row.event_lag_p50_ms).not.toBeNull();
  });
});
