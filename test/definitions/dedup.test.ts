// detection_events on a real DuckDB file: one row per detection_oid, the first delivered copy wins,
// copies are removed within a run and across runs (even 6 days later), locations are joined and
// unknown ones kept and flagged, and ids and names come back exactly as sent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { referenceDetectionEvents, referenceModels, sortRows, MODEL_KEYS } from "../support/reference.ts";
import { createWarehouse, insertRawEvents, writeLocations, type Location, type RawEvent, type TestWarehouse } from "../support/warehouse.ts";
import { copyOf, DAY_MS, expectRunOk, MINUTE_MS, nextPublishTimes, readModel, readModels } from "./behaviour_support.ts";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER); // 2^53 - 1
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

export const HOSTILE_NAMES = [
  "'; drop table detections.detection_events; --",
  "Robert'); DROP TABLE raw_detection_events;--",
  "back\\slash\\' \\n not a newline",
  '"double" quotes and `backticks` and $$dollars$$',
  "semi;colon -- comment /* block */",
  "line\nbreak\ttab",
  "café", // precomposed é (U+00E9)
  "cafe\u0301", // e + combining acute: a different string that looks the same
  "🚗 car",
  "Ａ fullwidth",
  "a".repeat(5000),
  "🚗".repeat(5000), // 5,000 characters, 10,000 UTF-16 units, 20,000 UTF-8 bytes
  "e\u0301".repeat(2500), // 5,000 code points, 2,500 graphemes
];

describe("detection_events: dedup across runs, location join, exact ids and names", () => {
  let warehouse: TestWarehouse;
  const now = Date.now();
  const at = (msBeforeNow: number) => new Date(now - msBeforeNow);
  const locations: Location[] = [
    { geographical_location_oid: 1n, geographical_location: "Harbour gate" },
    { geographical_location_oid: 2n, geographical_location: "O'Brien's -- ; \\ quai 🚉" },
    { geographical_location_oid: INT64_MAX, geographical_location: "the last location" },
    { geographical_location_oid: MAX_SAFE + 2n, geographical_location: "just beyond 2^53" },
  ];
  const copies: RawEvent[] = [];
  const t0 = 6 * DAY_MS + 10 * MINUTE_MS; // the oldest first copy, within the 7-day raw retention

  // Run 1: history over five days.
  const run1: RawEvent[] = [
    // copies of one detection within the run, identical content
    copyOf({ detection_oid: 1n, publish_time: at(t0), video_camera_oid: 10n, item_name: "bicycle" }),
    copyOf({ detection_oid: 1n, publish_time: at(t0 - 5_000), video_camera_oid: 10n, item_name: "bicycle" }),
    // two copies with the same publish_time: the smaller message_id wins, compared as text ("tie-10" < "tie-9")
    copyOf({ detection_oid: 2n, publish_time: at(5 * DAY_MS), message_id: "tie-9", video_camera_oid: 21n }),
    copyOf({ detection_oid: 2n, publish_time: at(5 * DAY_MS), message_id: "tie-10", video_camera_oid: 20n }),
    // conflicting copies: the first one wins, whatever the later ones say
    copyOf({ detection_oid: 3n, publish_time: at(4 * DAY_MS), item_name: "dog", timestamp_detected: BigInt(now - 4 * DAY_MS - 60_000) }),
    copyOf({ detection_oid: 3n, publish_time: at(4 * DAY_MS - 1), item_name: "cat", geographical_location_oid: 2n }),
    // unknown location: kept and flagged
    copyOf({ detection_oid: 4n, publish_time: at(3 * DAY_MS), geographical_location_oid: 99n, item_name: "van" }),
    // ids at and beyond 2^53: 2^53 and 2^53 + 1 are one double, two detections
    copyOf({ detection_oid: MAX_SAFE, publish_time: at(2 * DAY_MS), video_camera_oid: MAX_SAFE }),
    copyOf({ detection_oid: MAX_SAFE + 1n, publish_time: at(2 * DAY_MS - 1), video_camera_oid: MAX_SAFE + 1n, geographical_location_oid: MAX_SAFE + 2n }),
    copyOf({ detection_oid: MAX_SAFE + 2n, publish_time: at(2 * DAY_MS - 2), video_camera_oid: MAX_SAFE + 2n, geographical_location_oid: INT64_MAX }),
    copyOf({ detection_oid: INT64_MAX, publish_time: at(2 * DAY_MS - 3), video_camera_oid: INT64_MAX, geographical_location_oid: INT64_MAX }),
    copyOf({ detection_oid: INT64_MIN, publish_time: at(2 * DAY_MS - 4), video_camera_oid: 7n }),
    // SQL-hostile and non-ASCII names, each twice (a copy with the identical name)
    ...HOSTILE_NAMES.flatMap((name, i) => [
      copyOf({ detection_oid: 1000n + BigInt(i), publish_time: at(DAY_MS + i * MINUTE_MS), item_name: name, geographical_location_oid: BigInt(1 + (i % 2)) }),
      copyOf({ detection_oid: 1000n + BigInt(i), publish_time: at(DAY_MS + i * MINUTE_MS - 1), item_name: name, geographical_location_oid: BigInt(1 + (i % 2)) }),
    ]),
  ];

  // Run 2: later copies, published (as the sink stamps them) after run 1 ended, in this order.
  const run2 = (times: Date[]): RawEvent[] => {
    const [late, conflict, big1, big2, unknown, new1, new2, new3] = times as [Date, Date, Date, Date, Date, Date, Date, Date];
    return [
      // the late copy, more than 6 days after the first one
      copyOf({ detection_oid: 1n, publish_time: late, video_camera_oid: 10n, item_name: "bicycle" }),
      // a conflicting late copy
      copyOf({ detection_oid: 3n, publish_time: conflict, item_name: "horse", video_camera_oid: 33n }),
      // late copies of the big ids, and a copy of the unknown-location detection now at a known location
      copyOf({ detection_oid: MAX_SAFE + 1n, publish_time: big1, video_camera_oid: 1n }),
      copyOf({ detection_oid: INT64_MIN, publish_time: big2, video_camera_oid: 7n }),
      copyOf({ detection_oid: 4n, publish_time: unknown, geographical_location_oid: 1n, item_name: "van" }),
      // new detections, one with copies inside this run
      copyOf({ detection_oid: 5n, publish_time: new1, item_name: "🚗".repeat(5000) }),
      copyOf({ detection_oid: 5n, publish_time: new2, item_name: "🚗".repeat(5000) }),
      copyOf({ detection_oid: MAX_SAFE + 3n, publish_time: new3, geographical_location_oid: MAX_SAFE + 2n }),
    ];
  };
  let lastRun = { startedAt: new Date(), endedAt: 0 };
  const runAll = async () => {
    const report = await warehouse.transformer.run();
    lastRun = { startedAt: report.startedAt, endedAt: Date.now() };
    expectRunOk(report);
  };

  beforeAll(async () => {
    warehouse = await createWarehouse();
    await writeLocations(warehouse, locations);
  });
  afterAll(() => warehouse?.close());

  it("keeps the first copy of each detection within one run", async () => {
    // the raw table lands in publish order, as the sink commits
    await insertRawEvents(warehouse, run1);
    copies.push(...run1);
    await runAll();

    const rows = await readModel(warehouse, "detection_events");
    expect(rows).toEqual(sortRows(referenceDetectionEvents(copies, locations), MODEL_KEYS.detection_events));
    // spot checks written from the fixture, so a mistake shared by the reference cannot hide
    expect(rows).toHaveLength(new Set(run1.map((c) => c.detection_oid)).size);
    const byOid = new Map(rows.map((r) => [String(r.detection_oid), r]));
    expect(byOid.get("2")).toMatchObject({ first_message_id: "tie-10", video_camera_oid: 20 });
    expect(byOid.get("3")).toMatchObject({ item_name: "dog", geographical_location_oid: 1, geographical_location: "Harbour gate" });
    expect(byOid.get("4")).toMatchObject({ geographical_location_oid: 99, geographical_location: null, is_location_known: false });
  });

  it("never stores a detection twice when copies arrive in later runs, up to 6 days after the first", async () => {
    const later = run2(await nextPublishTimes(lastRun.endedAt, 8));
    expect(later[0]!.publish_time.getTime() - at(t0).getTime()).toBeGreaterThan(6 * DAY_MS);
    await insertRawEvents(warehouse, later);
    copies.push(...later);
    await runAll();

    const rows = await readModel(warehouse, "detection_events");
    expect(rows).toEqual(sortRows(referenceDetectionEvents(copies, locations), MODEL_KEYS.detection_events));
    expect(rows).toHaveLength(new Set(copies.map((c) => c.detection_oid)).size);
    const byOid = new Map(rows.map((r) => [String(r.detection_oid), r]));
    expect(byOid.get("1")).toMatchObject({ publish_time: at(t0).toISOString(), first_message_id: run1[0]!.message_id });
    // the first copy decides, even when a later copy names a known location
    expect(byOid.get("4")).toMatchObject({ is_location_known: false });
    expect(byOid.get("3")).toMatchObject({ item_name: "dog" });
  });

  it("keeps int64 ids exact at and beyond 2^53, and names byte for byte", async () => {
    const rows = await readModel(warehouse, "detection_events");
    const oids = rows.map((r) => r.detection_oid);
    for (const oid of [MAX_SAFE, MAX_SAFE + 1n, MAX_SAFE + 2n, MAX_SAFE + 3n, INT64_MAX, INT64_MIN]) {
      expect(oids).toContain(oid === MAX_SAFE ? Number(oid) : oid.toString());
    }
    const found = await warehouse.db.connection.runAndReadAll(
      `select detection_oid::varchar as oid, video_camera_oid::varchar as camera from detections.detection_events where detection_oid > 9007199254740991 order by detection_oid`
    );
    expect(found.getRowObjectsJS()).toEqual([
      { oid: (MAX_SAFE + 1n).toString(), camera: (MAX_SAFE + 1n).toString() },
      { oid: (MAX_SAFE + 2n).toString(), camera: (MAX_SAFE + 2n).toString() },
      { oid: (MAX_SAFE + 3n).toString(), camera: "1" },
      { oid: INT64_MAX.toString(), camera: INT64_MAX.toString() },
    ]);
    const names = new Set(rows.map((r) => r.item_name));
    for (const name of HOSTILE_NAMES) expect(names.has(name), JSON.stringify(name.slice(0, 60))).toBe(true);
    // the model's own check counts characters as code points: 5,000 emoji are 5,000 characters
    const lengths = await warehouse.db.connection.runAndReadAll(`select max(char_length(item_name))::int as n from detections.detection_events`);
    expect(lengths.getRowObjectsJS()[0]).toEqual({ n: 5000 });
  });

  it("runs every other model on the same rows as the reference", async () => {
    expect(await readModels(warehouse)).toEqual(referenceModels({ copies, locations, now: lastRun.startedAt }));
  });
});
