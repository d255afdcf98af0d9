// Late copies (published more than late_after_seconds after their detection) wait for their slot of
// publish_time to be swept when detection_events is large. A detection whose first copy is late waits
// with it, even when an on-time copy comes next; pipeline_quality_hourly counts the late copies and
// judges the copies that waited for them once the sweep has run; the rollups count a late first copy
// swept after the stream has moved on (their publish_time bound allows for the slot).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Transformer } from "../../runner/transform.ts";
import { referenceModels, type ModelTables } from "../support/reference.ts";
import { createWarehouse, insertRawEvents, writeLocations, type RawEvent, type TestWarehouse } from "../support/warehouse.ts";
import { copyOf, expectRunOk, MINUTE_MS, MODELS_SCHEMA, nextPublishTimes, readModels, readResolvedUntil, sleep } from "./behaviour_support.ts";

const LOCATIONS = [{ geographical_location_oid: 1n, geographical_location: "Quay" }];
const ids = (tables: ModelTables) => tables.detection_events.map((row) => row.detection_oid);

/** The message ids of the late copies detection_events has read and not swept yet, sorted. */
async function waitingMessageIds(warehouse: TestWarehouse): Promise<string[]> {
  const reader = await warehouse.db.connection.runAndReadAll(`select message_id from ${MODELS_SCHEMA}.int_late_copies_waiting order by message_id`);
  return reader.getRowObjectsJS().map((row) => String(row.message_id));
}

/** A warehouse that treats every table as large (late_sweep_min_rows 0), with slots of `slotSeconds`. */
async function largeTableWarehouse(slotSeconds: number): Promise<TestWarehouse> {
  const warehouse = await createWarehouse({ late_sweep_min_rows: "0", late_sweep_seconds: String(slotSeconds) });
  await writeLocations(warehouse, LOCATIONS);
  return warehouse;
}

describe("late copies in a large table", () => {
  let warehouse: TestWarehouse;
  // Hour-long slots: the rows below, published seconds ago, sit in a slot that cannot close during the test.
  beforeAll(async () => (warehouse = await largeTableWarehouse(3600)));
  afterAll(async () => warehouse?.close());

  it("waits for the slot's sweep, then loads the late first copy and judges the copies after it", async () => {
    // A first run creates the tables (a full refresh, which sweeps everything that has landed).
    const earlier = copyOf({ detection_oid: 50n, publish_time: new Date(Date.now() - 15_000) });
    await insertRawEvents(warehouse, [earlier]);
    expectRunOk(await warehouse.transformer.run());
    // Rows the sink could stamp after that run; 10 s old (the late-arrival margin) when the next run starts.
    const [p1, p2, p3, p4] = (await nextPublishTimes(Date.now(), 4)).map((d) => d.getTime()) as [number, number, number, number];
    const lateFirst = copyOf({ detection_oid: 100n, publish_time: new Date(p1), timestamp_detected: BigInt(p1 - 5 * MINUTE_MS), item_name: "bus" });
    const onTimeAfterIt = copyOf({ detection_oid: 100n, publish_time: new Date(p2), timestamp_detected: BigInt(p2 - 1_500), item_name: "car" });
    // 200: detected 59.99 s before its first copy (on time); an identical copy 37 ms later is late
    const onTimeFirst = copyOf({ detection_oid: 200n, publish_time: new Date(p3), timestamp_detected: BigInt(p3 - 59_990) });
    const lateCopyOfOnTime = { ...onTimeFirst, message_id: `${onTimeFirst.message_id}-again`, publish_time: new Date(p4) };
    const copies: RawEvent[] = [earlier, lateFirst, onTimeAfterIt, onTimeFirst, lateCopyOfOnTime];
    await insertRawEvents(warehouse, copies.slice(1));
    const started = new Date();
    expectRunOk(await warehouse.transformer.run());

    const swept = await readResolvedUntil(warehouse);
    expect(swept!.getTime()).toBeLessThanOrEqual(p1); // the slot holding the rows is not swept yet
    const waiting = await readModels(warehouse);
    // detection 100's first copy is late: neither it nor its on-time copy is loaded yet
    expect(ids(waiting)).toEqual([50, 200]);
    expect(waiting).toEqual(referenceModels({ copies, locations: LOCATIONS, now: started, resolvedUntil: swept }));
    expect(waiting.pipeline_quality_hourly).toHaveLength(1); // (unless the test straddles an hour)
    const [hour] = waiting.pipeline_quality_hourly;
    // the on-time copies of loaded detections are counted now; the late ones, and 100's on-time copy
    // (to be judged against its late first copy), wait
    expect(hour).toMatchObject({ events_received: 2, unique_detections: 2, conflicting_duplicates: 0 });
    // The late copies wait in int_late_copies_waiting, for the next runs.
    const lateIds = [lateFirst.message_id, lateCopyOfOnTime.message_id].sort();
    expect(await waitingMessageIds(warehouse)).toEqual(lateIds);

    // The same project with one-second slots, a moment later: the rows' slot has closed (nothing was
    // published for a whole slot since), so this run sweeps it.
    await sleep(1_200);
    const shortSlots = new Transformer(warehouse.db, { late_sweep_min_rows: "0", late_sweep_seconds: "1" });
    const sweptAt = new Date();
    expectRunOk(await shortSlots.run());
    const after = await readModels(warehouse);
    const sweptNow = await readResolvedUntil(warehouse);
    expect(sweptNow!.getTime()).toBeGreaterThan(p4);
    expect(ids(after)).toEqual([50, 100, 200]);
    expect(after.detection_events.find((row) => row.detection_oid === 100)).toMatchObject({ item_name: "bus", first_message_id: lateFirst.message_id });
    expect(after).toEqual(referenceModels({ copies, locations: LOCATIONS, now: sweptAt, resolvedUntil: sweptNow }));
    // every copy counted once; 100's on-time copy ("car") conflicts with its late first copy ("bus")
    expect(after.pipeline_quality_hourly).toHaveLength(1);
    expect(after.pipeline_quality_hourly[0]).toMatchObject({ events_received: 5, unique_detections: 3, duplicate_copies: 2, conflicting_duplicates: 1 });
    expect(await waitingMessageIds(warehouse)).toEqual([]); // swept: none left waiting
  });
});

describe("a late first copy swept after the stream has moved on", () => {
  let warehouse: TestWarehouse;
  // 20 s slots, in real time: the sweep comes three runs after the late copy, when detection_events
  // reads new raw rows published well after it, and the rollups have counted them.
  beforeAll(async () => (warehouse = await largeTableWarehouse(20)));
  afterAll(async () => warehouse?.close());

  it("is read from int_late_copies_waiting once the raw rows read move past it, and counted by the rollups", { timeout: 120_000 }, async () => {
    const copies: RawEvent[] = [copyOf({ detection_oid: 1n, publish_time: new Date(Date.now() - 15_000) })];
    await insertRawEvents(warehouse, copies);
    expectRunOk(await warehouse.transformer.run());
    // Start just after a slot boundary (the late-arrival margin before now), so the late copy opens its slot.
    const slotMs = 20_000;
    await sleep(slotMs - ((Date.now() - 10_000) % slotMs) + 200);
    const [p1, p2] = (await nextPublishTimes(Date.now(), 2)).map((d) => d.getTime()) as [number, number];
    const late = copyOf({ detection_oid: 2n, publish_time: new Date(p1), timestamp_detected: BigInt(p1 - 5 * MINUTE_MS), item_name: "bus" });
    copies.push(late, copyOf({ detection_oid: 3n, publish_time: new Date(p2) }));
    await insertRawEvents(warehouse, copies.slice(1));
    expectRunOk(await warehouse.transformer.run());
    expect(ids(await readModels(warehouse))).toEqual([1, 3]); // waiting for its slot
    // On-time detections keep coming, each run once its row is published. A run reads the raw rows from
    // late_arrival_seconds (10 s) before the newest first copy: 12 s after the late copy, it still reads
    // it from the raw table; 20 s after, only from int_late_copies_waiting; the row published 31 s after
    // closes the late copy's slot (everything published 10 s before it has landed), and that run sweeps it.
    const onTimeRun = async (afterLateMs: number, detection_oid: bigint) => {
      await sleep(Math.max(0, p1 + afterLateMs + 50 - Date.now()));
      const next = copyOf({ detection_oid, publish_time: new Date(p1 + afterLateMs) });
      copies.push(next);
      await insertRawEvents(warehouse, [next]);
      expectRunOk(await warehouse.transformer.run()); // rollups_reconcile included
    };
    await onTimeRun(12_000, 10n);
    expect(await waitingMessageIds(warehouse)).toEqual([late.message_id]);
    // A warehouse written before int_late_copies_waiting existed (no table, no waiting_until): its first
    // run reads the slot's late copies from the raw table.
    await warehouse.db.connection.run(`drop table ${MODELS_SCHEMA}.int_late_copies_waiting`);
    await warehouse.db.connection.run(`alter table ${MODELS_SCHEMA}.int_late_copies_resolved drop column waiting_until`);
    await onTimeRun(20_000, 11n);
    expect((await readResolvedUntil(warehouse))!.getTime()).toBeLessThanOrEqual(p1); // not swept yet
    expect(ids(await readModels(warehouse))).toEqual([1, 3, 10, 11]);
    expect(await waitingMessageIds(warehouse)).toEqual([late.message_id]);
    await onTimeRun(31_000, 12n);
    const swept = await readResolvedUntil(warehouse);
    expect(swept!.getTime()).toBeGreaterThan(p1);
    const models = await readModels(warehouse);
    expect(ids(models)).toContain(2);
    const { pipeline_quality_hourly: _quality, ...rest } = models;
    const { pipeline_quality_hourly: _referenceQuality, ...expected } = referenceModels({ copies, locations: LOCATIONS, resolvedUntil: swept });
    expect(rest).toEqual(expected);
  });
});
