// detection_counts_hourly and top_items_by_location on a real DuckDB file: late events land in their
// own, already rolled-up hour; camera sets merge exactly; the top X ranks by count, then by item_name
// in code point order; unknown locations keep their rows with a NULL name.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOUR_MS, MODEL_KEYS, referenceCountsHourly, referenceModels, referenceTopItems, sortRows } from "../support/reference.ts";
import { createWarehouse, insertRawEvents, writeLocations, type Location, type RawEvent, type TestWarehouse } from "../support/warehouse.ts";
import { copyOf, DAY_MS, expectRunOk, MINUTE_MS, nextPublishTimes, readModel, readModels } from "./behaviour_support.ts";

const BIG = 2n ** 53n;

describe("rollups: hourly counts and top items, run after run", () => {
  let warehouse: TestWarehouse;
  const now = Date.now();
  const hour = Math.floor((now - 3 * DAY_MS) / HOUR_MS) * HOUR_MS; // an hour rolled up by the first run
  const inHour = (minute: number) => BigInt(hour + minute * MINUTE_MS + 123);
  const locations: Location[] = [
    { geographical_location_oid: 1n, geographical_location: "Harbour gate" },
    { geographical_location_oid: 2n, geographical_location: "Station 'B' -- ;" },
  ];
  const copies: RawEvent[] = [];
  let oid = 100n;
  /** A new detection at location 1, detected within the hour, published `publishedAgo` ms before now. */
  const detection = (item: string, camera: bigint, publish: Date, location = 1n, minute = 10): RawEvent =>
    copyOf({ detection_oid: oid++, publish_time: publish, item_name: item, video_camera_oid: camera, geographical_location_oid: location, timestamp_detected: inHour(minute) });
  const ago = (ms: number) => new Date(now - ms);

  // Run 1: 12 items at location 1 (top 10 must cut), equal counts to order by name, big camera ids.
  const tiedNames = ["🚗", "Ａ", "é", "z", "e\u0301", "Z"]; // code point order: Z < é(e+U+0301) < z < é < Ａ < 🚗; UTF-16 puts 🚗 before Ａ
  const run1: RawEvent[] = [
    detection("car", 5n, ago(2 * DAY_MS)),
    detection("car", 6n, ago(2 * DAY_MS - 1)),
    detection("car", 5n, ago(2 * DAY_MS - 2), 1n, 59),
    detection("car", BIG + 1n, ago(2 * DAY_MS - 3)),
    ...tiedNames.flatMap((name, i) => [detection(name, 8n, ago(DAY_MS + i)), detection(name, 9n, ago(DAY_MS - i), 1n, 20)]),
    ...["a1", "a2", "a3", "a4", "a5"].map((name, i) => detection(name, BIG, ago(DAY_MS / 2 + i))),
    // an unknown location: its rows are kept, with no name
    detection("x", 3n, ago(DAY_MS / 4), 77n),
    detection("y", 3n, ago(DAY_MS / 4 - 1), 77n, 0),
    // another hour and location
    copyOf({ detection_oid: oid++, publish_time: ago(DAY_MS / 8), geographical_location_oid: 2n, item_name: "car", timestamp_detected: BigInt(now - DAY_MS / 8 - 5000) }),
  ];
  // a copy of a run-1 detection inside run 1 (must not count)
  run1.push({ ...run1[0]!, message_id: "copy-of-first", publish_time: ago(DAY_MS / 16) });

  beforeAll(async () => {
    warehouse = await createWarehouse();
    await writeLocations(warehouse, locations);
  });
  afterAll(() => warehouse?.close());

  let endedAt = 0;
  let lastStartedAt = new Date();
  const runAll = async () => {
    const report = await warehouse.transformer.run();
    endedAt = Date.now();
    lastStartedAt = report.startedAt;
    expectRunOk(report);
  };

  it("rolls up the first run by hour of detection, location and item", async () => {
    await insertRawEvents(warehouse, run1);
    copies.push(...run1);
    await runAll();
    expect(await readModel(warehouse, "detection_counts_hourly")).toEqual(sortRows(referenceCountsHourly(copies), MODEL_KEYS.detection_counts_hourly));
    const top = await readModel(warehouse, "top_items_by_location");
    expect(top).toEqual(sortRows(referenceTopItems(copies, locations), MODEL_KEYS.top_items_by_location));
    // written from the contract, not from the reference
    const atGate = top.filter((r) => r.geographical_location_oid === 1);
    expect(atGate.map((r) => r.item_name)).toEqual(["car", "Z", "e\u0301", "z", "é", "Ａ", "🚗", "a1", "a2", "a3"]);
    expect(top.filter((r) => r.geographical_location_oid === 77)).toEqual([
      { geographical_location_oid: 77, geographical_location: null, item_rank: 1, item_name: "x", item_count: 1 },
      { geographical_location_oid: 77, geographical_location: null, item_rank: 2, item_name: "y", item_count: 1 },
    ]);
  });

  it("adds late events (old detection time, new publish time) to their long-closed hour and merges camera sets", async () => {
    const times = await nextPublishTimes(endedAt, 6);
    const late: RawEvent[] = [
      detection("car", 7n, times[0]!),
      detection("car", BIG + 1n, times[1]!, 1n, 30), // a camera already in the set
      detection("🚗", 8n, times[2]!),
      detection("a5", 1n, times[3]!),
      // copies of run-1 detections, one conflicting: neither may count again
      { ...run1[1]!, message_id: "late-copy-1", publish_time: times[4]! },
      { ...run1[2]!, message_id: "late-copy-2", publish_time: times[5]!, item_name: "truck", video_camera_oid: 99n },
    ];
    await insertRawEvents(warehouse, late);
    copies.push(...late);
    await runAll();

    const hourly = await readModel(warehouse, "detection_counts_hourly");
    expect(hourly).toEqual(sortRows(referenceCountsHourly(copies), MODEL_KEYS.detection_counts_hourly));
    expect(hourly.find((r) => r.detection_hour === new Date(hour).toISOString() && r.geographical_location_oid === 1 && r.item_name === "car")).toEqual({
      geographical_location_oid: 1,
      item_name: "car",
      video_camera_oids: [5, 6, 7, (BIG + 1n).toString()],
      detections: 6,
      distinct_cameras: 4,
      detection_hour: new Date(hour).toISOString(),
    });
    const atGate = (await readModel(warehouse, "top_items_by_location")).filter((r) => r.geographical_location_oid === 1);
    expect(atGate.map((r) => [r.item_name, r.item_count])).toEqual([
      ["car", 6], ["🚗", 3], ["Z", 2], ["a5", 2], ["e\u0301", 2], ["z", 2], ["é", 2], ["Ａ", 2], ["a1", 1], ["a2", 1],
    ]);
    expect(await readModels(warehouse)).toEqual(referenceModels({ copies, locations, now: lastStartedAt }));
  });

  it("lets a new item into a full top X when it reaches the Xth count and wins the tie by name", async () => {
    const small = await createWarehouse({ top_x: "3" });
    try {
      await writeLocations(small, locations);
      const firstRun = [
        ...["b", "c", "d"].flatMap((name, i) => [detection(name, 8n, ago(4 * HOUR_MS + i)), detection(name, 9n, ago(4 * HOUR_MS - i))]),
        detection("e", 8n, ago(4 * HOUR_MS - 10)),
      ];
      await insertRawEvents(small, firstRun);
      expectRunOk(await small.transformer.run());
      const topAtGate = async () => (await readModel(small, "top_items_by_location")).filter((r) => r.geographical_location_oid === 1).map((r) => [r.item_name, r.item_count]);
      expect(await topAtGate()).toEqual([["b", 2], ["c", 2], ["d", 2]]);
      // "a" reaches the third count and ranks first by name; "e" reaches it too but ranks after "d".
      const secondRun = [detection("a", 8n, ago(2 * HOUR_MS)), detection("a", 9n, ago(2 * HOUR_MS - 1)), detection("e", 9n, ago(2 * HOUR_MS - 2))];
      await insertRawEvents(small, secondRun);
      expectRunOk(await small.transformer.run());
      expect(await topAtGate()).toEqual([["a", 2], ["b", 2], ["c", 2]]);
      const top = await readModel(small, "top_items_by_location");
      expect(top).toEqual(sortRows(referenceTopItems([...firstRun, ...secondRun], locations, 3), MODEL_KEYS.top_items_by_location));
    } finally {
      await small.close();
    }
  });

  it("keeps X items per location with var top_x", async () => {
    const small = await createWarehouse({ top_x: "3" });
    try {
      await writeLocations(small, locations);
      await insertRawEvents(small, copies);
      expectRunOk(await small.transformer.run());
      const top = await readModel(small, "top_items_by_location");
      expect(top).toEqual(sortRows(referenceTopItems(copies, locations, 3), MODEL_KEYS.top_items_by_location));
      expect(top.filter((r) => r.geographical_location_oid === 1).map((r) => r.item_name)).toEqual(["car", "🚗", "Z"]);
    } finally {
      await small.close();
    }
  });
});
