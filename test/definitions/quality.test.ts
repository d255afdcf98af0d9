// pipeline_quality_hourly on a real DuckDB file: per hour of publish_time, copies received, unique
// detections, duplicates (and their rate), conflicting duplicates, unknown-location copies, dead
// letters and the event lag p50/p95 from the mergeable histogram; each window of publish_time is
// counted once, and rows younger than the late-arrival margin wait for the next run.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOUR_MS, LOCAL_LATE_ARRIVAL_MS, MODEL_KEYS, referenceModels, referenceQualityHourly, sortRows } from "../support/reference.ts";
import { createWarehouse, insertInvalidEvents, insertRawEvents, writeLocations, type InvalidEvent, type Location, type RawEvent, type TestWarehouse } from "../support/warehouse.ts";
import { copyOf, DAY_MS, expectRunOk, MINUTE_MS, nextPublishTimes, readModel, readModels } from "./behaviour_support.ts";

describe("pipeline_quality_hourly: received, unique, duplicates, conflicts, unknown locations, dead letters, lag", () => {
  let warehouse: TestWarehouse;
  const now = Date.now();
  const hourStart = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;
  // publish hours of run 1, each well inside its hour
  const hourA = hourStart(now - 2 * DAY_MS);
  const hourB = hourStart(now - DAY_MS);
  const hourC = hourStart(now - 3 * HOUR_MS);
  const hourD = hourStart(now - 5 * HOUR_MS);
  const locations: Location[] = [
    { geographical_location_oid: 1n, geographical_location: "Harbour gate" },
    { geographical_location_oid: 2n, geographical_location: "Depot" },
  ];
  const copies: RawEvent[] = [];
  const invalid: InvalidEvent[] = [];
  let oid = 1n;
  const detected = (publish: Date, lagMs: number, fields: Partial<RawEvent> = {}): RawEvent =>
    copyOf({ detection_oid: oid++, publish_time: publish, timestamp_detected: BigInt(publish.getTime() - lagMs), ...fields });
  /** Another copy of a detection (a new message_id), optionally with conflicting fields. */
  const again = ({ message_id: _first, ...first }: RawEvent, publish: Date, fields: Partial<RawEvent> = {}): RawEvent =>
    copyOf({ ...first, ...fields, publish_time: publish, detection_oid: first.detection_oid });
  const deadLetter = (publish: Date, reason: string): InvalidEvent => ({
    message_id: `dead-${invalid.length}-${publish.getTime()}`,
    publish_time: publish,
    data: `{"detection_oid": "x'; --", "why": ${JSON.stringify(reason)}}`,
    reason,
  });

  // hour A: lags of 0 ms, negative (camera clock ahead), 1 ms, 1.5 s and a minute; copies, one conflicting
  const a = [0, -500, 1, 1500, 60_000].map((lag, i) => detected(new Date(hourA + 60_000 + i * 1000), lag));
  // hour C: 60 detections with lags 1..60 s, so p50 and p95 fall on known values
  const c = Array.from({ length: 60 }, (_, i) => detected(new Date(hourC + 120_000 + i * 100), (i + 1) * 1000, { geographical_location_oid: 2n }));
  const run1: RawEvent[] = [
    ...a,
    again(a[0]!, new Date(hourA + 120_000)),
    again(a[1]!, new Date(hourA + 121_000), { item_name: "a different item" }),
    // hour B: copies only, two conflicting (camera, detection time) and one from an unknown location
    again(a[2]!, new Date(hourB + 60_000)),
    again(a[3]!, new Date(hourB + 61_000), { video_camera_oid: 42n }),
    again(a[4]!, new Date(hourB + 62_000), { timestamp_detected: a[4]!.timestamp_detected + 1n }),
    detected(new Date(hourB + 63_000), 2000, { geographical_location_oid: 404n }),
    again(a[0]!, new Date(hourB + 64_000), { geographical_location_oid: 404n }),
    ...c,
  ];
  const run1Invalid = [deadLetter(new Date(hourC + 1000), "item_name: too long"), deadLetter(new Date(hourD + 1000), "detection_oid: not an int64")];

  beforeAll(async () => {
    warehouse = await createWarehouse();
    await writeLocations(warehouse, locations);
    await warehouse.transformer.graph(); // compile now, so the runs below start at once
  });
  afterAll(() => warehouse?.close());

  let endedAt = 0;
  let recentPublish = 0;

  it("counts each publish hour, and leaves rows younger than the late-arrival margin for the next run", async () => {
    // a row published 6 s ago: detection_events takes it, the quality window (ending 10 s ago) does not
    // yet (the run reaches pipeline_quality_hourly well within the 4 s left)
    recentPublish = Date.now() - 6_000;
    const recent = detected(new Date(recentPublish), 700);
    copies.push(...run1, recent);
    invalid.push(...run1Invalid);
    await insertRawEvents(warehouse, [...run1, recent]);
    await insertInvalidEvents(warehouse, run1Invalid);
    const report = await warehouse.transformer.run();
    endedAt = Date.now();
    expectRunOk(report);
    expect(report.startedAt.getTime() - LOCAL_LATE_ARRIVAL_MS).toBeLessThan(recentPublish);

    const quality = await readModel(warehouse, "pipeline_quality_hourly");
    expect(quality).toEqual(sortRows(referenceQualityHourly({ copies, locations, invalid, now: report.startedAt }), MODEL_KEYS.pipeline_quality_hourly));
    expect((await readModel(warehouse, "detection_events")).map((r) => r.detection_oid)).toContain(Number(recent.detection_oid));

    // written from the contract, not from the reference
    const row = (hour: number) => quality.find((r) => r.publish_hour === new Date(hour).toISOString());
    expect(row(hourA)).toMatchObject({ events_received: 7, unique_detections: 5, duplicate_copies: 2, conflicting_duplicates: 1, unknown_location_events: 0, invalid_events: 0 });
    expect(row(hourB)).toMatchObject({ events_received: 5, unique_detections: 1, duplicate_copies: 4, conflicting_duplicates: 3, unknown_location_events: 2, duplicate_rate: 4 / 5 });
    expect(row(hourD)).toEqual({
      events_received: 0, unique_detections: 0, duplicate_copies: 0, conflicting_duplicates: 0, unknown_location_events: 0, invalid_events: 1,
      duplicate_rate: 0, event_lag_p50_ms: null, event_lag_p95_ms: null, publish_hour: new Date(hourD).toISOString(),
    });
    // 60 lags of 1..60 s: the median is 30 s and the 95th percentile 57 s, each within one ~5 % bucket above
    const hourCRow = row(hourC)!;
    expect(hourCRow).toMatchObject({ events_received: 60, unique_detections: 60, invalid_events: 1 });
    expect(hourCRow.event_lag_p50_ms).toBeGreaterThanOrEqual(30_000);
    expect(hourCRow.event_lag_p50_ms).toBeLessThanOrEqual(30_000 * Math.exp(1 / 20));
    expect(hourCRow.event_lag_p95_ms).toBeGreaterThanOrEqual(57_000);
    expect(hourCRow.event_lag_p95_ms).toBeLessThanOrEqual(57_000 * Math.exp(1 / 20));
    // lags of 0 ms and below are bucket 0, upper bound 0: two of five detections in hour A
    expect(row(hourA)!.event_lag_p50_ms).toBeGreaterThan(0);
    expect(referenceQualityHourly({ copies: a.slice(0, 2), locations, now: new Date() })[0]).toMatchObject({ event_lag_p50_ms: 0, event_lag_p95_ms: 0 });
    const total = quality.reduce((sum, r) => sum + (r.events_received as number), 0);
    expect(total).toBe(run1.length); // not the recent row
  });

  it("adds the next window to open hours, merging counts and lag histograms exactly", async () => {
    const times = await nextPublishTimes(Math.max(endedAt, recentPublish + LOCAL_LATE_ARRIVAL_MS), 8);
    const run2: RawEvent[] = [
      // late copies of hour A's detections, two days on: duplicates of this hour, one conflicting
      again(a[2]!, times[0]!),
      again(a[3]!, times[1]!, { item_name: "now a bus" }),
      // new detections with new lags, one at an unknown location
      detected(times[2]!, 250),
      detected(times[3]!, 90_000),
      detected(times[4]!, 3_600_000, { geographical_location_oid: 404n }),
      // a copy, within this run, of a detection first published in this run
      again(c[59]!, times[5]!),
    ];
    run2.push(again(run2[2]!, times[6]!, { video_camera_oid: 5n }));
    const run2Invalid = [deadLetter(times[7]!, "timestamp_detected: required")];
    copies.push(...run2);
    invalid.push(...run2Invalid);
    await insertRawEvents(warehouse, run2);
    await insertInvalidEvents(warehouse, run2Invalid);
    const report = await warehouse.transformer.run();
    expectRunOk(report);

    const quality = await readModel(warehouse, "pipeline_quality_hourly");
    expect(quality).toEqual(sortRows(referenceQualityHourly({ copies, locations, invalid, now: report.startedAt }), MODEL_KEYS.pipeline_quality_hourly));
    // every copy and dead letter counted exactly once, the recent row of run 1 included
    expect(quality.reduce((sum, r) => sum + (r.events_received as number), 0)).toBe(copies.length);
    expect(quality.reduce((sum, r) => sum + (r.invalid_events as number), 0)).toBe(invalid.length);
    expect(quality.reduce((sum, r) => sum + (r.unique_detections as number), 0)).toBe(new Set(copies.map((x) => x.detection_oid)).size);
    expect(await readModels(warehouse)).toEqual(referenceModels({ copies, locations, invalid, now: report.startedAt }));
  });

  it("holds the same rows after a full refresh", async () => {
    const report = await warehouse.transformer.run({ fullRefresh: true });
    expectRunOk(report);
    expect(await readModels(warehouse)).toEqual(referenceModels({ copies, locations, invalid, now: report.startedAt }));
  });
});
