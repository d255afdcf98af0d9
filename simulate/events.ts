// The camera simulator's event stream. Everything about an event is drawn from one seeded generator
// when its detection is first made: its location, camera, item, lateness, validity, and whether (and
// how, and after how long) it will be delivered again. Nothing drawn depends on the clock, so a seed and
// a first detection_oid give the same detections and the same copies however fast or slow the stream
// is consumed; the clock only decides which batch a copy falls due in, as camera and publisher retries
// land seconds to hours after the first delivery.
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

/** Locations outside Dataset B start here (or just past the known ones, if there are more). */
export const UNKNOWN_LOCATION_BASE = 900_000;
/** Cameras per location: camera oids are location·10 + 0..2. */
export const CAMERAS_PER_LOCATION = 3;

export function unknownLocationBase(locations: number): number {
  return Math.max(UNKNOWN_LOCATION_BASE, locations + 1);
}

export interface SimulatedEvent {
  detection_oid: number;
  video_camera_oid: number;
  geographical_location_oid: number;
  item_name: string;
  timestamp_detected: number;
}

export interface BatchCounts {
  /** First deliveries of valid detections. */
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

/**
 * Contract violations as cameras commit them. Each keeps the entry's position in the batch, so the
 * service's per-index errors can be matched to them.
 */
export const INVALID_KINDS: ReadonlyArray<{ name: string; entry: (oid: number, now: number) => string }> = [
  { name: "missing item_name", entry: (oid, now) => `{"detection_oid":${oid},"video_camera_oid":11,"geographical_location_oid":1,"timestamp_detected":${now}}` },
  { name: "empty item_name", entry: (oid, now) => `{"detection_oid":${oid},"video_camera_oid":11,"geographical_location_oid":1,"item_name":"","timestamp_detected":${now}}` },
  { name: "item_name over 5,000 characters", entry: (oid, now) => `{"detection_oid":${oid},"video_camera_oid":11,"geographical_location_oid":1,"item_name":"${"x".repeat(5001)}","timestamp_detected":${now}}` },
  { name: "non-integer id", entry: (oid, now) => `{"detection_oid":${oid}.5,"video_camera_oid":11,"geographical_location_oid":1,"item_name":"car","timestamp_detected":${now}}` },
  { name: "negative id", entry: (oid, now) => `{"detection_oid":${oid},"video_camera_oid":-11,"geographical_location_oid":1,"item_name":"car","timestamp_detected":${now}}` },
  { name: "id beyond 2^53 as a number", entry: (oid, now) => `{"detection_oid":${oid},"video_camera_oid":18014398509481985,"geographical_location_oid":1,"item_name":"car","timestamp_detected":${now}}` },
  { name: "null location", entry: (oid, now) => `{"detection_oid":${oid},"video_camera_oid":11,"geographical_location_oid":null,"item_name":"car","timestamp_detected":${now}}` },
  { name: "item_name of the wrong type", entry: (oid, now) => `{"detection_oid":${oid},"video_camera_oid":11,"geographical_location_oid":1,"item_name":42,"timestamp_detected":${now}}` },
  { name: "timestamp as a date string", entry: (oid, now) => `{"detection_oid":${oid},"video_camera_oid":11,"geographical_location_oid":1,"item_name":"car","timestamp_detected":"${new Date(now).toISOString()}"}` },
  { name: "timestamp in seconds", entry: (oid, now) => `{"detection_oid":${oid},"video_camera_oid":11,"geographical_location_oid":1,"item_name":"car","timestamp_detected":${Math.floor(now / 1000)}}` },
  { name: "not an object", entry: () => `"not an event"` },
];

interface PendingCopy {
  due: number;
  /** Generation order breaks ties, so copies due together come out in a reproducible order. */
  order: number;
  event: SimulatedEvent;
  conflicting: boolean;
}

const before = (a: PendingCopy, b: PendingCopy) => a.due < b.due || (a.due === b.due && a.order < b.order);

/** A binary min-heap on (due, order): copies come out in the order they fall due. */
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
      if (!before(heap[i]!, heap[parent]!)) break;
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
        if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!];
        i = smallest;
      }
    }
    return top;
  }
}

/**
 * Copies waiting to be re-sent are bounded (at 50,000 events/s and 3% copies, two hours of them would
 * be millions); past the bound a new copy falls due within seconds instead, so the copy rate holds.
 */
export const MAX_PENDING_COPIES = 200_000;
const COPY_DELAY_MS: [number, number] = [2_000, 2 * 3600_000];
const LATE_BY_MS: [number, number] = [60_000, 6 * 3600_000];
const RATES = ["duplicateRate", "lateRate", "conflictRate", "invalidRate", "unknownRate"] as const;

export function encodeEvent(event: SimulatedEvent, quotedItem?: string): string {
  return `{"detection_oid":${event.detection_oid},"video_camera_oid":${event.video_camera_oid},"geographical_location_oid":${event.geographical_location_oid},"item_name":${quotedItem ?? JSON.stringify(event.item_name)},"timestamp_detected":${event.timestamp_detected}}`;
}

const log = Math.log;
const logUniform = (u: number, [low, high]: [number, number]) => Math.exp(log(low) + u * (log(high) - log(low)));

export class EventStream {
  private readonly options: StreamOptions;
  private readonly random: Random;
  private readonly copies = new CopyQueue();
  private readonly unknownBase: number;
  private nextOid: number;
  private copyOrder = 0;

  constructor(options: StreamOptions) {
    for (const rate of RATES) {
      if (!(options[rate] >= 0 && options[rate] <= 1)) throw new RangeError(`${rate} must be between 0 and 1, got ${options[rate]}`);
    }
    if (!Number.isSafeInteger(options.firstOid) || options.firstOid < 0) throw new RangeError(`firstOid must be a non-negative safe integer, got ${options.firstOid}`);
    if (!Number.isSafeInteger(options.seed) || options.seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${options.seed}`);
    // Camera oids are location·10 + k and must stay exact as JSON numbers.
    if (!Number.isSafeInteger(options.locations) || options.locations < 1 || options.locations > 100_000_000) {
      throw new RangeError(`locations must be an integer from 1 to 100,000,000, got ${options.locations}`);
    }
    this.options = options;
    // The generator takes 32 bits; fold the high bits in so seeds 2^32 apart differ too.
    this.random = new Random((options.seed ^ Math.floor(options.seed / 2 ** 32)) >>> 0);
    this.unknownBase = unknownLocationBase(options.locations);
    this.nextOid = options.firstOid;
  }

  /** Copies generated but not yet due (not sent if the run ends now). */
  get pendingCopies(): number {
    return this.copies.size;
  }

  /** The detection_oid the next new detection will get. */
  get nextDetectionOid(): number {
    return this.nextOid;
  }

  private pickItem(location: number): number {
    const u = this.random.next();
    let index = 0;
    while (index < CUMULATIVE.length - 1 && u >= CUMULATIVE[index]!) index++;
    // Half the detections follow the location's own favourites, so top lists differ between places.
    if (this.random.next() < 0.5) index = (index + (location % 7)) % ITEMS.length;
    return index;
  }

  /**
   * A new detection (or invalid entry), and its copy if it gets one. What is drawn depends only on
   * earlier draws, never on the clock or the copy queue, so the stream's content cannot drift.
   */
  private generate(now: number, parts: string[], events: Array<SimulatedEvent | null>, counts: BatchCounts): void {
    const o = this.options;
    const random = this.random;
    const oid = this.nextOid++;
    if (!Number.isSafeInteger(oid)) throw new RangeError(`detection_oid ${oid} is beyond 2^53-1: start from a smaller firstOid`);
    if (random.next() < o.invalidRate) {
      parts.push(INVALID_KINDS[random.below(INVALID_KINDS.length)]!.entry(oid, now));
      events.push(null);
      counts.invalid++;
      return;
    }
    const unknown = random.next() < o.unknownRate;
    const location = unknown ? this.unknownBase + random.below(1000) : 1 + random.below(o.locations);
    const lateDraw = random.next();
    const late = lateDraw < o.lateRate;
    const camera = random.below(CAMERAS_PER_LOCATION);
    const item = this.pickItem(location);
    const event: SimulatedEvent = {
      detection_oid: oid,
      video_camera_oid: location * 10 + camera,
      geographical_location_oid: location,
      item_name: ITEMS[item]!,
      timestamp_detected: late ? now - Math.round(logUniform(lateDraw / o.lateRate, LATE_BY_MS)) : now,
    };
    parts.push(encodeEvent(event, QUOTED_ITEMS[item]));
    events.push(event);
    counts.originals++;
    if (unknown) counts.unknownLocation++;
    if (late) counts.late++;

    if (random.next() >= o.duplicateRate) return;
    const delayDraw = random.next();
    const conflicting = random.next() < o.conflictRate;
    const changeItem = random.next() < 0.5;
    const shift = 1 + random.below(changeItem ? ITEMS.length - 1 : CAMERAS_PER_LOCATION - 1);
    // A conflicting copy is the same detection with other content: a re-run model naming another item,
    // or a neighbouring camera at the same place claiming the detection.
    const copy = !conflicting
      ? event
      : changeItem
        ? { ...event, item_name: ITEMS[(item + shift) % ITEMS.length]! }
        : { ...event, video_camera_oid: location * 10 + ((camera + shift) % CAMERAS_PER_LOCATION) };
    const delay = this.copies.size < MAX_PENDING_COPIES ? logUniform(delayDraw, COPY_DELAY_MS) : COPY_DELAY_MS[0] * (1 + delayDraw);
    this.copies.push({ due: now + delay, order: this.copyOrder++, event: copy, conflicting });
  }

  /** The next `size` entries, due copies first, stamped relative to `now` (epoch ms). */
  nextBatch(size: number, now = Date.now()): GeneratedBatch {
    const parts: string[] = [];
    const events: Array<SimulatedEvent | null> = [];
    const counts: BatchCounts = { originals: 0, copies: 0, conflicting: 0, late: 0, invalid: 0, unknownLocation: 0 };
    while (parts.length < size) {
      const due = this.copies.popDue(now);
      if (due) {
        parts.push(encodeEvent(due.event));
        events.push(due.event);
        counts.copies++;
        if (due.conflicting) counts.conflicting++;
      } else {
        this.generate(now, parts, events, counts);
      }
    }
    return { body: `[${parts.join(",")}]`, events, counts };
  }
}
