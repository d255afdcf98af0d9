// The simulator's stream: reproducible from its seed, with the mix of copies, late, conflicting,
// invalid and unknown-location events it is configured for, judged by the service's real contract.
import { describe, expect, it } from "vitest";
import { parseJsonArray } from "../../ingest/batch.ts";
import { openDatabase } from "../../runner/database.ts";
import { DEFAULT_STREAM, EventStream, UNKNOWN_LOCATION_BASE, type SimulatedEvent } from "../../simulate/events.ts";
import { LOCATION_COUNT, writeLocations } from "../../simulate/locations.ts";

const START = Date.UTC(2026, 10, 24, 12);

/** One batch of `size` events each simulated second. */
function run(seed: number, batches: number, options: Partial<typeof DEFAULT_STREAM> = {}, size = 500) {
  const stream = new EventStream({ ...DEFAULT_STREAM, ...options, seed, firstOid: 1_000_000 });
  return { stream, batches: Array.from({ length: batches }, (_, i) => stream.nextBatch(size, START + i * 1000)) };
}

describe("the simulated event stream", () => {
  it("is reproducible from its seed and first oid, and differs with another seed", () => {
    const a = run(7, 50).batches.map((b) => b.body);
    const b = run(7, 50).batches.map((b) => b.body);
    const c = run(8, 50).batches.map((b) => b.body);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it("mixes copies, conflicting copies, late, invalid and unknown-location events at the configured rates", () => {
    // ~500,000 events over 7 simulated hours (copies fall due 2 s to 2 h after their detection).
    const { stream, batches } = run(3, 3600 * 7, { duplicateRate: 0.05, lateRate: 0.02, conflictRate: 0.2, invalidRate: 0.01, unknownRate: 0.03 }, 20);
    const seen = new Map<number, SimulatedEvent>();
    let originals = 0, copies = 0, conflicting = 0, late = 0, invalid = 0, unknown = 0, conflictCount = 0, lastOriginal = 0;
    batches.forEach((batch, b) => {
      const now = START + b * 1000;
      // Counts as the batch reports them must match what its body holds.
      expect(batch.events.filter((e) => e === null).length).toBe(batch.counts.invalid);
      conflictCount += batch.counts.conflicting;
      for (const event of batch.events) {
        if (event === null) {
          invalid++;
          continue;
        }
        const first = seen.get(event.detection_oid);
        if (first) {
          copies++;
          if (first.item_name !== event.item_name || first.video_camera_oid !== event.video_camera_oid) conflicting++;
          continue;
        }
        // New detections count up: anything at or below the last one is a copy of one already sent.
        expect(event.detection_oid).toBeGreaterThan(lastOriginal);
        lastOriginal = event.detection_oid;
        seen.set(event.detection_oid, event);
        originals++;
        if (event.timestamp_detected < now - 30_000) late++;
        if (event.geographical_location_oid >= UNKNOWN_LOCATION_BASE) unknown++;
        else expect(event.geographical_location_oid).toBeLessThanOrEqual(LOCATION_COUNT);
      }
    });
    const total = originals + invalid;
    expect(invalid / total).toBeCloseTo(0.01, 2);
    // Copies of the last two hours' detections may not have come due yet.
    expect(stream.pendingCopies).toBeGreaterThan(0);
    expect((copies + stream.pendingCopies) / originals).toBeCloseTo(0.05, 2);
    expect(conflicting / copies).toBeCloseTo(0.2, 1);
    expect(conflicting).toBe(conflictCount);
    expect(late / originals).toBeCloseTo(0.02, 2);
    expect(unknown / originals).toBeCloseTo(0.03, 2);
  });

  it("sends copies seconds to hours after the first delivery, never before", () => {
    const { batches } = run(5, 3600 * 3, { duplicateRate: 0.05 }, 20);
    const firstAt = new Map<number, number>();
    const delays: number[] = [];
    batches.forEach((batch, b) => {
      for (const event of batch.events) {
        if (!event) continue;
        const at = START + b * 1000;
        const first = firstAt.get(event.detection_oid);
        if (first === undefined) firstAt.set(event.detection_oid, at);
        else delays.push(at - first);
      }
    });
    delays.sort((x, y) => x - y);
    expect(delays[0]).toBeGreaterThanOrEqual(2_000);
    expect(delays.at(-1)).toBeGreaterThan(3600_000);
    expect(delays[Math.floor(delays.length / 2)]).toBeLessThan(600_000);
  });

  it("produces invalid entries the service rejects by index and valid ones it accepts", () => {
    const { batches } = run(11, 40, { invalidRate: 0.2 });
    for (const batch of batches) {
      const parsed = parseJsonArray(batch.body);
      const invalidIndexes = batch.events.flatMap((e, i) => (e === null ? [i] : []));
      expect(parsed.rejections.map((r) => r.index)).toEqual(invalidIndexes);
      expect(parsed.events.map((e) => e.detection_oid)).toEqual(batch.events.filter((e) => e !== null).map((e) => BigInt(e!.detection_oid)));
    }
  });

  it("refuses rates outside 0..1", () => {
    expect(() => new EventStream({ ...DEFAULT_STREAM, duplicateRate: 1.5, firstOid: 1 })).toThrow(/duplicateRate must be between 0 and 1/);
  });
});

describe("generated Dataset B", () => {
  it("has 10,000 locations with unique oids and unique readable names", async () => {
    const db = await openDatabase(":memory:");
    try {
      const file = `${process.env.TMPDIR ?? "/tmp"}/sightline-locations-${process.pid}.parquet`;
      expect(await writeLocations(db.connection, file)).toBe(10_000);
      const reader = await db.connection.runAndReadAll(
        `select count(*)::integer as n, count(distinct geographical_location_oid)::integer as oids, count(distinct geographical_location)::integer as names,
           min(geographical_location_oid)::integer as lo, max(geographical_location_oid)::integer as hi,
           count(*) filter (where geographical_location similar to '.+ · .+ [0-9]+')::integer as readable
         from read_parquet('${file}')`
      );
      expect(reader.getRowObjectsJS()[0]).toEqual({ n: 10_000, oids: 10_000, names: 10_000, lo: 1, hi: 10_000, readable: 10_000 });
    } finally {
      db.close();
    }
  });
});
