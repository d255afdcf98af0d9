// Property: a random stream of copies (duplicates, conflicting copies, unknown locations, copies up to
// 6.5 days after the first, late detections into hours rolled up long ago, dead letters), split into
// a random number of runs, leaves the models holding what one full refresh holds and what the
// TypeScript reference computes from the contract.
//
// The raw table lands in publish order, as the local sink commits: every row of run k is published
// after every row of the runs before it. Two ways of placing them in time:
// - "live": the first run loads history spread over 6.5 days; each later run gets rows the sink would
//   stamp after the run before it ended (within its wall clock minus the 10 s late-arrival margin).
//   This is the sink's actual behaviour, and every model, pipeline_quality_hourly included, must agree.
// - "backfill": each run's rows are spread over its own slice of the 6.5 days, all in the past. The
//   data-driven watermarks (detection_events, the rollups) must still agree; pipeline_quality_hourly
//   consumes windows of wall-clock time, so rows published before the previous run's clock are left
//   out by design (they arrived later than late_arrival_seconds) and only its full refresh is checked.
// Late copies (published more than 60 s after their detection) are swept in 1 s slots of publish_time
// here, as in a large table (late_sweep_min_rows 0), so live runs leave some waiting and later runs
// sweep them (backfilled rows, a slot or more old, are swept at once); the reference is given how far
// detection_events has swept (int_late_copies_resolved), after the runs and after the full refresh.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { referenceModels, type ModelTables } from "../support/reference.ts";
import {
  createWarehouse,
  insertInvalidEvents,
  insertRawEvents,
  writeLocations,
  type InvalidEvent,
  type Location,
  type RawEvent,
  type TestWarehouse,
} from "../support/warehouse.ts";
import { DAY_MS, expectRunOk, MINUTE_MS, nextPublishTimes, readModels, readResolvedUntil, resetWarehouse } from "./behaviour_support.ts";

const BIG = 2n ** 53n;
const LOCATIONS: Location[] = [
  { geographical_location_oid: 1n, geographical_location: "Harbour gate" },
  { geographical_location_oid: 2n, geographical_location: "Quai 'B'; --" },
  { geographical_location_oid: BIG + 1n, geographical_location: "beyond 2^53 🚉" },
];
const LOCATION_OIDS = [1n, 2n, BIG + 1n, 404n, 2n ** 63n - 1n]; // the last two are not in Dataset B
const DETECTION_OIDS = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, -5n, BIG - 1n, BIG, BIG + 1n, 2n ** 63n - 1n];
const CAMERA_OIDS = [1n, 2n, 3n, BIG + 1n];
const ITEMS = ["car", "Car", "🚗", "Ａ", "é", "e\u0301", "x'; drop table t; --", "back\\slash", "z".repeat(300)];
const HISTORY_MINUTES = Math.floor((6.5 * DAY_MS) / MINUTE_MS);

interface EventSpec {
  oid: bigint;
  camera: bigint;
  location: bigint;
  item: string;
  /** publish_time - detected_at, ms: 0, negative (camera clock ahead), seconds, or days (a late event). */
  lagMs: number;
  /** Repeat the fields of an earlier copy of the same detection exactly (an identical copy). */
  identical: boolean;
  run: number;
  /** For history: minutes into the past (small ranges give equal publish times, decided by message_id). */
  minutesAgo: number;
}

const eventSpec: fc.Arbitrary<EventSpec> = fc.record({
  oid: fc.constantFrom(...DETECTION_OIDS),
  camera: fc.constantFrom(...CAMERA_OIDS),
  location: fc.constantFrom(...LOCATION_OIDS),
  item: fc.constantFrom(...ITEMS),
  lagMs: fc.oneof(fc.constantFrom(0, -1500, 1), fc.integer({ min: 2, max: 120_000 }), fc.integer({ min: 0, max: 3 * DAY_MS })),
  identical: fc.boolean(),
  run: fc.nat({ max: 3 }),
  minutesAgo: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: HISTORY_MINUTES })),
});

interface StreamSpec {
  runs: number;
  events: EventSpec[];
  deadLetters: { run: number; minutesAgo: number }[];
}

const streamSpec: fc.Arbitrary<StreamSpec> = fc.record({
  runs: fc.integer({ min: 1, max: 4 }),
  events: fc.array(eventSpec, { minLength: 1, maxLength: 40 }),
  deadLetters: fc.array(fc.record({ run: fc.nat({ max: 3 }), minutesAgo: fc.integer({ min: 1, max: HISTORY_MINUTES }) }), { maxLength: 4 }),
});

type Scheme = "live" | "backfill";

interface Outcome {
  incremental: ModelTables;
  fullRefresh: ModelTables;
  /** What the models must hold after the runs, and after the full refresh (which may have swept further). */
  reference: ModelTables;
  referenceAfterFullRefresh: ModelTables;
}

describe("incremental runs equal one full refresh and the reference", () => {
  let warehouse: TestWarehouse;
  beforeAll(async () => {
    // late_sweep_min_rows 0: the late copies wait for their slot as in a large table
    warehouse = await createWarehouse({ late_sweep_min_rows: "0" });
    await writeLocations(warehouse, LOCATIONS);
    await warehouse.transformer.graph(); // one compile for every property run
  });
  afterAll(() => warehouse?.close());

  /** Loads the stream run by run into an empty warehouse, running the graph after each; then a full refresh. */
  async function play(stream: StreamSpec, scheme: Scheme): Promise<Outcome> {
    await resetWarehouse(warehouse);
    const start = Date.now();
    const copies: RawEvent[] = [];
    const invalid: InvalidEvent[] = [];
    const firstFields = new Map<bigint, Pick<RawEvent, "video_camera_oid" | "geographical_location_oid" | "item_name" | "timestamp_detected">>();
    let lastEnded = start;
    let lastStarted = new Date(start);
    let serial = 0;
    for (let run = 0; run < stream.runs; run++) {
      const events = stream.events.filter((e) => e.run % stream.runs === run);
      const dead = stream.deadLetters.filter((d) => d.run % stream.runs === run);
      // publish times of this run's rows: events first, then dead letters
      let times: Date[];
      if (scheme === "live" && run > 0) {
        times = await nextPublishTimes(lastEnded, events.length + dead.length);
      } else {
        // history (the first live run) or this run's slice of the 6.5 days (backfill), oldest slice first
        const slices = scheme === "live" ? 1 : stream.runs;
        const slice = scheme === "live" ? 0 : run;
        const sliceMinutes = Math.floor(HISTORY_MINUTES / slices);
        const sliceEnd = start - MINUTE_MS - (slices - 1 - slice) * sliceMinutes * MINUTE_MS;
        times = [...events, ...dead].map((e) => new Date(sliceEnd - ((e.minutesAgo - 1) % sliceMinutes) * MINUTE_MS));
      }
      const rows = events.map((e, i): RawEvent => {
        const publish = times[i]!;
        const earlier = firstFields.get(e.oid);
        const fields =
          e.identical && earlier
            ? earlier
            : { video_camera_oid: e.camera, geographical_location_oid: e.location, item_name: e.item, timestamp_detected: BigInt(publish.getTime() - e.lagMs) };
        if (!earlier) firstFields.set(e.oid, fields);
        serial += 1;
        // message ids compare as text: m10 < m9
        return { message_id: `m${serial}`, publish_time: publish, detection_oid: e.oid, ...fields };
      });
      const letters = dead.map((_, i): InvalidEvent => ({
        message_id: `dead${run}-${i}`,
        publish_time: times[events.length + i]!,
        data: `{"detection_oid": 1e400, "item_name": "'--"}`,
        reason: "detection_oid: not an int64",
      }));
      await insertRawEvents(warehouse, rows);
      await insertInvalidEvents(warehouse, letters);
      copies.push(...rows);
      invalid.push(...letters);
      const report = await warehouse.transformer.run();
      lastEnded = Date.now();
      lastStarted = report.startedAt;
      expectRunOk(report);
    }
    const incremental = await readModels(warehouse);
    const sweptIncrementally = await readResolvedUntil(warehouse);
    const refreshed = await warehouse.transformer.run({ fullRefresh: true });
    expectRunOk(refreshed);
    const fullRefresh = await readModels(warehouse);
    const sweptByFullRefresh = await readResolvedUntil(warehouse);
    // every row is older than the margin by now, so the run's exact start does not matter
    const reference = referenceModels({ copies, locations: LOCATIONS, invalid, now: lastStarted, resolvedUntil: sweptIncrementally });
    const referenceAfterFullRefresh = referenceModels({ copies, locations: LOCATIONS, invalid, now: lastStarted, resolvedUntil: sweptByFullRefresh });
    return { incremental, fullRefresh, reference, referenceAfterFullRefresh };
  }

  it("live stream: every model, pipeline_quality_hourly included", async () => {
    await fc.assert(
      fc.asyncProperty(streamSpec, async (stream) => {
        const { incremental, fullRefresh, reference, referenceAfterFullRefresh } = await play(stream, "live");
        expect(incremental).toEqual(reference);
        expect(fullRefresh).toEqual(referenceAfterFullRefresh);
      }),
      { numRuns: 18, interruptAfterTimeLimit: 100_000, markInterruptAsFailure: true }
    );
  });

  it("backfill in publish order: the data-driven watermarks agree; quality after a full refresh", async () => {
    await fc.assert(
      fc.asyncProperty(streamSpec, async (stream) => {
        const { incremental, fullRefresh, reference, referenceAfterFullRefresh } = await play(stream, "backfill");
        const { pipeline_quality_hourly: _incrementalQuality, ...incrementalRest } = incremental;
        const { pipeline_quality_hourly: _referenceQuality, ...referenceRest } = reference;
        expect(incrementalRest).toEqual(referenceRest);
        expect(fullRefresh).toEqual(referenceAfterFullRefresh);
      }),
      { numRuns: 10, interruptAfterTimeLimit: 60_000, markInterruptAsFailure: true }
    );
  });
});
