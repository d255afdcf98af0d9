// The simulator's stream: reproducible from its seed and first oid, with the mix of copies, late,
// conflicting, invalid and unknown-location events it is configured for, judged by the service's
// real contract.
import { describe, expect, it } from "vitest";
import { parseJsonArray } from "../../ingest/batch.ts";
import { detectionEvent } from "../../ingest/event.ts";
import { DEFAULT_STREAM, EventStream, INVALID_KINDS, ITEMS, UNKNOWN_LOCATION_BASE, type GeneratedBatch, type SimulatedEvent, type StreamOptions } from "../../simulate/events.ts";

// Whole seconds, a little in the past: the contract refuses timestamps over a day ahead of the clock.
const START = Math.floor(Date.now() / 1000) * 1000 - 12 * 3600_000;

function stream(options: Partial<StreamOptions> = {}) {
  return new EventStream({ ...DEFAULT_STREAM, firstOid: 1_000_000, ...options });
}

/** `batches` batches of `size` entries, one every `step` simulated milliseconds. */
function run(s: EventStream, batches: number, size = 500, step = 1000): GeneratedBatch[] {
  return Array.from({ length: batches }, (_, i) => s.nextBatch(size, START + i * step));
}

/** An observed share within four standard deviations (plus a hair) of the configured one. */
function expectShare(hits: number, trials: number, p: number) {
  const sigma = Math.sqrt((p * (1 - p)) / trials);
  expect(Math.abs(hits / trials - p), `${hits}/${trials} vs ${p}`).toBeLessThanOrEqual(4 * sigma + 1e-4);
}

const withoutTime = ({ timestamp_detected: _, ...rest }: SimulatedEvent) => rest;

/** First deliveries in order, and every later delivery, of the valid entries. */
function split(batches: GeneratedBatch[]) {
  const seen = new Set<number>();
  const originals: SimulatedEvent[] = [];
  const copies: SimulatedEvent[] = [];
  for (const batch of batches) {
    for (const event of batch.events) {
      if (!event) continue;
      if (seen.has(event.detection_oid)) copies.push(event);
      else {
        seen.add(event.detection_oid);
        originals.push(event);
      }
    }
  }
  return { originals, copies };
}

describe("the simulated event stream", () => {
  it("is reproducible from its seed and first oid, and differs with another seed", () => {
    const a = run(stream({ seed: 7 }), 50).map((b) => b.body);
    const b = run(stream({ seed: 7 }), 50).map((b) => b.body);
    const c = run(stream({ seed: 8 }), 50).map((b) => b.body);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    // Seeds beyond 32 bits are not truncated into each other.
    expect(run(stream({ seed: 2 ** 32 + 7 }), 1)[0]!.body).not.toEqual(a[0]);
    // Another first oid: the same detections under other ids.
    const shifted = split(run(stream({ seed: 7, firstOid: 5_000_000 }), 50)).originals;
    const original = split(run(stream({ seed: 7 }), 50)).originals;
    expect(shifted.map((e) => ({ ...e, detection_oid: e.detection_oid - 4_000_000 }))).toEqual(original);
  });

  it("draws the same detections and copies however the stream is consumed", () => {
    // One stream in small batches every second, the other in large ones every 7 s: copies fall due in
    // other batches, but which detections exist, and what each copy says, may not change.
    const fine = stream({ seed: 3, duplicateRate: 0.2, conflictRate: 0.3 });
    const coarse = stream({ seed: 3, duplicateRate: 0.2, conflictRate: 0.3 });
    const a = run(fine, 3000, 10, 1000);
    const b = run(coarse, 300, 100, 7000);
    // Both made the same detections (oids below the smaller high mark); now flush every copy due.
    const upTo = Math.min(fine.nextDetectionOid, coarse.nextDetectionOid);
    a.push(fine.nextBatch(fine.pendingCopies, START + 24 * 3600_000));
    b.push(coarse.nextBatch(coarse.pendingCopies, START + 24 * 3600_000));
    const [x, y] = [split(a), split(b)];
    const key = (e: SimulatedEvent) => JSON.stringify(withoutTime(e));
    expect(x.originals.filter((e) => e.detection_oid < upTo).map(withoutTime)).toEqual(y.originals.filter((e) => e.detection_oid < upTo).map(withoutTime));
    const copiesOf = (copies: SimulatedEvent[]) => copies.filter((e) => e.detection_oid < upTo).map(key).sort();
    expect(copiesOf(x.copies).length).toBeGreaterThan(1000);
    expect(copiesOf(x.copies)).toEqual(copiesOf(y.copies));
  });

  it("mixes copies, conflicting copies, late, invalid and unknown-location events at the configured rates", () => {
    // ~110,000 entries over 2.2 simulated hours (copies fall due 2 s to 2 h after their detection).
    const rates = { duplicateRate: 0.05, lateRate: 0.02, conflictRate: 0.2, invalidRate: 0.01, unknownRate: 0.03 };
    const s = stream({ seed: 3, ...rates });
    const batches = run(s, 8000, 14);
    const firstSeen = new Map<number, SimulatedEvent>();
    let entries = 0, originals = 0, copies = 0, conflicting = 0, late = 0, invalid = 0, unknown = 0, lastOriginal = 0;
    const reported = { copies: 0, conflicting: 0, late: 0, invalid: 0, unknownLocation: 0, originals: 0 };
    batches.forEach((batch, b) => {
      const now = START + b * 1000;
      for (const key of Object.keys(reported) as Array<keyof typeof reported>) reported[key] += batch.counts[key];
      for (const event of batch.events) {
        entries++;
        if (event === null) {
          invalid++;
          continue;
        }
        const first = firstSeen.get(event.detection_oid);
        if (first) {
          copies++;
          // A copy is the same detection: place and time never change, item or camera may.
          expect([event.geographical_location_oid, event.timestamp_detected]).toEqual([first.geographical_location_oid, first.timestamp_detected]);
          if (first.item_name !== event.item_name || first.video_camera_oid !== event.video_camera_oid) conflicting++;
          continue;
        }
        // New detections count up: anything at or below the last one is a copy of one already sent.
        expect(event.detection_oid).toBeGreaterThan(lastOriginal);
        lastOriginal = event.detection_oid;
        firstSeen.set(event.detection_oid, event);
        originals++;
        if (event.timestamp_detected < now) late++;
        if (event.geographical_location_oid >= UNKNOWN_LOCATION_BASE) unknown++;
      }
    });
    expect(entries).toBe(112_000);
    // What the batches say they hold is what they hold.
    expect(reported).toEqual({ copies, conflicting, late, invalid, unknownLocation: unknown, originals });
    expectShare(invalid, originals + invalid, rates.invalidRate);
    expectShare(late, originals, rates.lateRate);
    expectShare(unknown, originals, rates.unknownRate);
    // Copies of the last two hours' detections may not have come due yet: they count as pending.
    expect(s.pendingCopies).toBeGreaterThan(0);
    expectShare(copies + s.pendingCopies, originals, rates.duplicateRate);
    expectShare(conflicting, copies, rates.conflictRate);
  });

  it("sends copies seconds to hours after the first delivery, never before", () => {
    const batches = run(stream({ seed: 5, duplicateRate: 0.05 }), 3600 * 3, 20);
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
    expect(delays.at(-1)).toBeLessThanOrEqual(2 * 3600_000 + 1000);
    // Log-uniform: the median copy comes within minutes, not an hour.
    expect(delays[Math.floor(delays.length / 2)]).toBeLessThan(600_000);
  });

  it("produces invalid entries of every kind, which the service rejects by index, and valid ones it accepts", () => {
    const now = Date.now();
    const batches = run(stream({ seed: 11, invalidRate: 0.2 }), 40);
    for (const batch of batches) {
      const parsed = parseJsonArray(batch.body);
      const invalidIndexes = batch.events.flatMap((e, i) => (e === null ? [i] : []));
      expect(parsed.rejections.map((r) => r.index)).toEqual(invalidIndexes);
      expect(parsed.events.map((e) => e.detection_oid)).toEqual(batch.events.filter((e) => e !== null).map((e) => BigInt(e!.detection_oid)));
    }
    // Each kind on its own breaks the contract, for a reason of its own.
    const reasons = INVALID_KINDS.map((kind) => {
      const result = detectionEvent.safeParse(JSON.parse(kind.entry(123, now)));
      expect(result.success, kind.name).toBe(false);
      return result.error!.issues[0]!.message;
    });
    expect(new Set(reasons).size).toBeGreaterThanOrEqual(INVALID_KINDS.length - 2);
    // And all kinds turn up in a stream.
    const bodies = batches.map((b) => b.body).join("");
    expect(bodies).toContain('"item_name":""');
    expect(bodies).toContain(`"timestamp_detected":"`);
    expect(bodies).toMatch(/"detection_oid":\d+\.5/);
  });

  it("keeps locations, cameras and ids in range: known ones within 1..N, unknown ones beyond N", () => {
    for (const locations of [50, 10_000, 2_000_000]) {
      const events = run(stream({ seed: 13, locations, unknownRate: 0.1, invalidRate: 0 }), 20).flatMap((b) => b.events as SimulatedEvent[]);
      const unknown = events.filter((e) => e.geographical_location_oid > locations);
      expectShare(unknown.length, events.length, 0.1);
      const wrong = events.filter(
        (e) =>
          e.geographical_location_oid < 1 ||
          (e.geographical_location_oid > locations && e.geographical_location_oid < Math.max(UNKNOWN_LOCATION_BASE, locations + 1)) ||
          // About three cameras per location, numbered from the location's oid.
          Math.floor(e.video_camera_oid / 10) !== e.geographical_location_oid ||
          e.video_camera_oid % 10 > 2 ||
          ![e.detection_oid, e.video_camera_oid, e.geographical_location_oid, e.timestamp_detected].every(Number.isSafeInteger)
      );
      expect(wrong).toEqual([]);
      expect(new Set(events.map((e) => e.video_camera_oid % 10)).size).toBe(3);
    }
    // Ids travel as JSON numbers, so cameras read them without a string-to-int step.
    const [first] = JSON.parse(run(stream({ invalidRate: 0 }), 1)[0]!.body) as Array<Record<string, unknown>>;
    expect(typeof first!.detection_oid).toBe("number");
  });

  it("skews items: a few are common, the tail is rare", () => {
    const counts = new Map<string, number>();
    for (const b of run(stream({ seed: 17, invalidRate: 0 }), 100)) for (const e of b.events) counts.set(e!.item_name, (counts.get(e!.item_name) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    expect(counts.size).toBe(ITEMS.length);
    expect(sorted[0]! / sorted.at(-1)!).toBeGreaterThan(10);
    expect(sorted.slice(0, 5).reduce((a, b) => a + b, 0) / 50_000).toBeGreaterThan(0.4);
  });

  it("makes conflicting copies differ from the first copy, at the same place", () => {
    const { originals, copies } = split(run(stream({ seed: 19, duplicateRate: 0.5, conflictRate: 1, invalidRate: 0 }), 8000, 5));
    const first = new Map(originals.map((e) => [e.detection_oid, e]));
    expect(copies.length).toBeGreaterThan(1000);
    let itemChanged = 0;
    for (const copy of copies) {
      const original = first.get(copy.detection_oid)!;
      expect(copy).not.toEqual(original);
      if (copy.item_name !== original.item_name) itemChanged++;
      else expect(Math.floor(copy.video_camera_oid / 10)).toBe(original.geographical_location_oid);
    }
    expectShare(itemChanged, copies.length, 0.5);
  });

  it("refuses rates outside 0..1 and ids beyond 2^53", () => {
    expect(() => stream({ duplicateRate: 1.5 })).toThrow(/duplicateRate must be between 0 and 1/);
    expect(() => stream({ invalidRate: Number.NaN })).toThrow(/invalidRate/);
    expect(() => stream({ firstOid: 2 ** 53 })).toThrow(/firstOid/);
    const nearTheEnd = stream({ firstOid: Number.MAX_SAFE_INTEGER - 10 });
    expect(() => nearTheEnd.nextBatch(100, START)).toThrow(/beyond 2\^53-1/);
  });
});
