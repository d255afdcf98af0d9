// The camera simulator's event stream: seeded and deterministic in content (which detections, which
// copies, which are late, conflicting, invalid or at unknown locations), with copies re-sent seconds
// to hours after their first delivery, as camera and publisher retries and replays do.
import { Random } from "./random.ts";

export interface StreamOptions {
  seed: number;
  /** detection_oid of the first detection; later ones count up from it. */
  firstOid: number;
  /** Known locations are 1..locations (Dataset B's oids). */
  locations: number;
  /** Share of detections delivered again later. */
  duplicateRate: number;
  /** Share of detections whose timestamp_detected lies minutes to hours in the past. */
  lateRate: number;
  /** Share of copies whose content differs from the first copy (another item or camera). */
  conflictRate: number;
  /** Share of events that break the contract (the service rejects them by index). */
  invalidRate: number;
  /** Share of detections at a location that is not in Dataset B. */
  unknownRate: number;
}

export const DEFAULT_STREAM: Omit<StreamOptions, "firstOid"> = {
  seed: 1,
  locations: 10_000,
  duplicateRate: 0.03,
  lateRate: 0.01,
  conflictRate: 0.1,
  invalidRate: 0.005,
  unknownRate: 0.005,
};

/** Locations outside Dataset B start here. */
export const UNKNOWN_LOCATION_BASE = 900_000;

export interface SimulatedEvent {
  detection_oid: number;
  video_camera_oid: number;
  geographical_location_oid: number;
  item_name: string;
  timestamp_detected: number;
}

export interface BatchCounts {
  originals: number;
  copies: number;
  conflicting: number;
  late: number;
  invalid: number;
  unknownLocation: number;
}

export interface GeneratedBatch {
  /** A JSON array, ready to POST. */
  body: string;
  /** Entry i of the body; null where the entry is invalid (the service rejects it). */
  events: Array<SimulatedEvent | null>;
  counts: BatchCounts;
}

export const ITEMS = [
  "person", "car", "bicycle", "dog", "bus", "truck", "motorcycle", "backpack", "umbrella", "cat",
  "scooter", "stroller", "handbag", "suitcase", "bird", "traffic cone", "wheelchair", "van", "tram",
  "skateboard", "shopping cart", "delivery robot", "horse", "pigeon", "taxi", "ambulance", "fire truck",
  "police car", "forklift", "pallet", "parcel", "drone", "kite", "ball", "bench", "trash bag",
  "e-bike", "cargo bike", "rollerblades", "guide dog",
];

// Zipf-like weights: a few items dominate, a long tail is rare, so every location has a clear top list.
const CUMULATIVE = (() => {
  const weights = ITEMS.map((_, i) => 1 / (i + 1) ** 1.1);
  const total = weights.reduce((a, b) => a + b, 0);
  let sum = 0;
  return weights.map((w) => (sum += w / total));
})();
const QUOTED_ITEMS = ITEMS.map((item) => JSON.stringify(item));

const INVALID_ENTRIES: Array<(oid: number, now: number) => string> = [
  (oid, now) => `{"detection_oid":${oid},"video_camera_oid":11,"geographical_location_oid":1,"timestamp_detected":${now}}`,
  (oid, now) => `{"detection_oid":${oid},"video_camera_oid":11,"geographical_location_oid":1,"item_name":"","timestamp_detected":${now}}`,
  (oid, now) => `{"detection_oid":${oid}.5,"video_camera_oid":11,"geographical_location_oid":1,"item_name":"car","timestamp_detected":${now}}`,
  (oid) => `{"detection_oid":${oid},"video_camera_oid":11,"geographical_location_oid":1,"item_name":"car","timestamp_detected":"yesterday"}`,
  (oid, now) => `{"detection_oid":${oid},"video_camera_oid":11,"geographical_location_oid":null,"item_name":"car","timestamp_detected":${now}}`,
  (oid, now) => `{"detection_oid":${oid},"video_camera_oid":18014398509481985,"geographical_location_oid":1,"item_name":"car","timestamp_detected":${now}}`,
  () => `"not an event"`,
];

interface PendingCopy {
  due: number;
  event: SimulatedEvent;
}

/** A binary min-heap on `due`: copies come out in the order they fall due. */
class CopyQueue {
  private readonly heap: PendingCopy[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(copy: PendingCopy): void {
    const heap = this.heap;
    heap.push(copy);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.due <= heap[i]!.due) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  popDue(now: number): PendingCopy | undefined {
    const heap = this.heap;
    if (heap.length === 0 || heap[0]!.due > now) return undefined;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && heap[left]!.due < heap[smallest]!.due) smallest = left;
        if (right < heap.length && heap[right]!.due < heap[smallest]!.due) smallest = right;
        if (smallest === i) break;
        [heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!];
        i = smallest;
      }
    }
    return top;
  }
}

/** Copies waiting to be re-sent are bounded; beyond it new copies fall due within seconds. */
const MAX_PENDING_COPIES = 200_000;
const COPY_DELAY_MS: [number, number] = [2_000, 2 * 3600_000];
const LATE_BY_MS: [number, number] = [60_000, 6 * 3600_000];

export function encodeEvent(event: SimulatedEvent, quotedItem?: string): string {
  return `{"detection_oid":${event.detection_oid},"video_camera_oid":${event.video_camera_oid},"geographical_location_oid":${event.geographical_location_oid},"item_name":${quotedItem ?? JSON.stringify(event.item_name)},"timestamp_detected":${event.timestamp_detected}}`;
}

export class EventStream {
  private readonly options: StreamOptions;
  private readonly random: Random;
  private readonly copies = new CopyQueue();
  private nextOid: number;

  constructor(options: StreamOptions) {
    for (const rate of ["duplicateRate", "lateRate", "conflictRate", "invalidRate", "unknownRate"] as const) {
      if (!(options[rate] >= 0 && options[rate] <= 1)) throw new RangeError(`${rate} must be between 0 and 1, got ${options[rate]}`);
    }
    if (!Number.isSafeInteger(options.firstOid) || options.firstOid < 0) throw new RangeError(`firstOid must be a non-negative safe integer, got ${options.firstOid}`);
    this.options = options;
    this.random = new Random(options.seed);
    this.nextOid = options.firstOid;
  }

  /** Copies generated but not yet due (not sent if the run ends now). */
  get pendingCopies(): number {
    return this.copies.size;
  }

  private pickItem(location: number): number {
    const u = this.random.next();
    let index = CUMULATIVE.findIndex((c) => u < c);
    if (index < 0) index = ITEMS.length - 1;
    // Half the detections follow the location's own favourites, so top lists differ between places.
    if (this.random.chance(0.5)) index = (index + (location % 7)) % ITEMS.length;
    return index;
  }

  /** The next `size` entries, due copies first, stamped relative to `now` (epoch ms). */
  nextBatch(size: number, now = Date.now()): GeneratedBatch {
    const o = this.options;
    const random = this.random;
    const parts: string[] = [];
    const events: Array<SimulatedEvent | null> = [];
    const counts: BatchCounts = { originals: 0, copies: 0, conflicting: 0, late: 0, invalid: 0, unknownLocation: 0 };
    while (parts.length < size) {
      const due = this.copies.popDue(now);
      if (due) {
        let event = due.event;
        if (random.chance(o.conflictRate)) {
          // A conflicting copy: same detection, other content (a re-run model, a corrupted resend).
          event = random.chance(0.5)
            ? { ...event, item_name: ITEMS[(ITEMS.indexOf(event.item_name) + 1 + random.below(ITEMS.length - 1)) % ITEMS.length] ?? "person" }
            : { ...event, video_camera_oid: event.video_camera_oid + 1 };
          counts.conflicting++;
        }
        parts.push(encodeEvent(event));
        events.push(event);
        counts.copies++;
        continue;
      }
      const oid = this.nextOid++;
      if (random.chance(o.invalidRate)) {
        parts.push(INVALID_ENTRIES[random.below(INVALID_ENTRIES.length)]!(oid, now));
        events.push(null);
        counts.invalid++;
        continue;
      }
      const unknown = random.chance(o.unknownRate);
      const location = unknown ? UNKNOWN_LOCATION_BASE + random.below(1000) : 1 + random.below(o.locations);
      const late = random.chance(o.lateRate);
      const item = this.pickItem(location);
      const event: SimulatedEvent = {
        detection_oid: oid,
        video_camera_oid: location * 10 + random.below(3),
        geographical_location_oid: location,
        item_name: ITEMS[item]!,
        timestamp_detected: late ? now - Math.round(random.logUniform(...LATE_BY_MS)) : now,
      };
      parts.push(encodeEvent(event, QUOTED_ITEMS[item]));
      events.push(event);
      counts.originals++;
      if (unknown) counts.unknownLocation++;
      if (late) counts.late++;
      if (random.chance(o.duplicateRate)) {
        const delay = this.copies.size < MAX_PENDING_COPIES ? random.logUniform(...COPY_DELAY_MS) : COPY_DELAY_MS[0] * (1 + random.next());
        this.copies.push({ due: now + delay, event });
      }
    }
    return { body: `[${parts.join(",")}]`, events, counts };
  }
}
