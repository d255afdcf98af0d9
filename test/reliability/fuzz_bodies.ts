// The fuzz test's bodies: valid batches damaged byte by byte, events of the right shape with values of
// any type, any JSON, and any bytes, each sent as JSON or NDJSON.
import fc from "fast-check";

export const valid = (id: number) => ({ detection_oid: id, video_camera_oid: 11, geographical_location_oid: 3, item_name: "car", timestamp_detected: 1_700_000_000_000 });

/** A valid batch, then byte-level damage: the bodies a flaky network or a buggy camera produce. */
const mutated = fc
  .tuple(
    fc.array(fc.integer({ min: 1, max: 2 ** 40 }), { minLength: 1, maxLength: 20 }),
    fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
        fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.string({ unit: "binary", maxLength: 6 }) }),
        fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
        fc.record({ kind: fc.constant("byte" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) })
      ),
      { maxLength: 4 }
    )
  )
  .map(([ids, edits]) => {
    let bytes = Buffer.from(JSON.stringify(ids.map(valid)));
    for (const edit of edits) {
      const at = bytes.length ? edit.at % bytes.length : 0;
      if (edit.kind === "delete") bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + edit.length)]);
      else if (edit.kind === "insert") bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(edit.text), bytes.subarray(at)]);
      else if (edit.kind === "truncate") bytes = bytes.subarray(0, at);
      else if (bytes.length) bytes[at] = edit.value;
    }
    return bytes;
  });

/** Events of the right shape with values of any type, and any JSON at all. */
const shaped = fc
  .array(
    fc.record(
      { detection_oid: fc.anything(), video_camera_oid: fc.oneof(fc.integer(), fc.string(), fc.double()), geographical_location_oid: fc.anything(), item_name: fc.oneof(fc.string({ unit: "grapheme", maxLength: 40 }), fc.anything()), timestamp_detected: fc.oneof(fc.integer(), fc.bigInt().map(String), fc.double()) },
      { requiredKeys: [] }
    ),
    { maxLength: 30 }
  )
  .map((events) => Buffer.from(JSON.stringify(events, (_k, v) => (typeof v === "bigint" ? v.toString() : v)) ?? "null"));
const anyJson = fc.json({ maxDepth: 4 }).map((text) => Buffer.from(text));
const anyBytes = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes));

export const bodies = fc.tuple(fc.oneof({ weight: 4, arbitrary: mutated }, { weight: 3, arbitrary: shaped }, { weight: 1, arbitrary: anyJson }, { weight: 1, arbitrary: anyBytes }), fc.constantFrom("application/json", "application/x-ndjson"));

