import { describe, expect, it } from "vitest";
import { BatchError, MAX_EVENTS_PER_REQUEST, parseJsonArray, parseNdjson } from "../../ingest/batch.ts";
import { detectionEvent } from "../../ingest/event.ts";

const good = { detection_oid: 1, video_camera_oid: 2, geographical_location_oid: 3, item_name: "car", timestamp_detected: 1700000000000 };

describe("the event contract", () => {
  it("accepts ids as JSON numbers up to 2^53-1 and as decimal strings up to 2^63-1, exactly, and 0", () => {
    const parsed = detectionEvent.parse({ ...good, detection_oid: Number.MAX_SAFE_INTEGER, video_camera_oid: "9223372036854775807", geographical_location_oid: "0" });
    expect(parsed).toMatchObject({ detection_oid: 9007199254740991n, video_camera_oid: 9223372036854775807n, geographical_location_oid: 0n });
  });

  it("refuses negative ids, even within int64", () => {
    const parsed = detectionEvent.safeParse({ ...good, geographical_location_oid: "-9223372036854775808" });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe("must not be negative: object ids are 0 or more");
  });

  it("drops unknown fields", () => {
    expect(Object.keys(detectionEvent.parse({ ...good, colour: "red" })).sort()).toEqual(["detection_oid", "geographical_location_oid", "item_name", "timestamp_detected", "video_camera_oid"]);
  });

  it.each([
    [{ ...good, detection_oid: 9007199254740992 }, "detection_oid: is beyond 2^53-1 as a JSON number (precision is lost): send it as a decimal string"],
    [{ ...good, detection_oid: "9223372036854775808" }, "detection_oid: is outside the int64 range: 9223372036854775808"],
    [{ ...good, video_camera_oid: 1.5 }, "video_camera_oid: must be an integer, got 1.5"],
    [{ ...good, geographical_location_oid: "12a" }, 'geographical_location_oid: must be an integer or a decimal string, got "12a"'],
    [{ ...good, timestamp_detected: true }, "timestamp_detected: must be an integer or a decimal string, got boolean"],
    [{ ...good, item_name: "" }, "item_name: must not be empty"],
    [{ ...good, item_name: "x".repeat(5001) }, "item_name: must be at most 5,000 characters, got 5001"],
    [{ ...good, item_name: 7 }, "item_name: must be a string, got number"],
    [{ ...good, item_name: "a\ud800b" }, "item_name: must be valid Unicode text: it contains an unpaired surrogate"],
    [{ detection_oid: 1 }, "video_camera_oid: is required; geographical_location_oid: is required; item_name: is required; timestamp_detected: is required"],
    [[good], "each event must be a JSON object"],
  ])("rejects %j with a precise reason", (input, reason) => {
    const parsed = detectionEvent.safeParse(input);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ")).toBe(reason);
  });

  it("counts characters, not UTF-16 units: 5,000 emoji are a valid item name", () => {
    expect(detectionEvent.safeParse({ ...good, item_name: "😀".repeat(5000) }).success).toBe(true);
    expect(detectionEvent.safeParse({ ...good, item_name: "😀".repeat(5001) }).success).toBe(false);
  });
});

describe("request bodies", () => {
  it("keeps the valid events of a JSON array and reports each invalid one by index", () => {
    const batch = parseJsonArray(JSON.stringify([good, { ...good, item_name: "" }, { ...good, detection_oid: 2 }, "nope"]));
    expect(batch.events.map((e) => e.detection_oid)).toEqual([1n, 2n]);
    expect(batch.rejections.map((r) => [r.index, r.reason, r.data])).toEqual([
      [1, "item_name: must not be empty", JSON.stringify({ ...good, item_name: "" })],
      [3, "each event must be a JSON object", '"nope"'],
    ]);
  });

  it("rejects one NDJSON line that is not JSON without losing the lines around it", () => {
    const body = [JSON.stringify(good), "{not json", "", JSON.stringify({ ...good, detection_oid: "9223372036854775807" })].join("\n");
    const batch = parseNdjson(body);
    expect(batch.events.map((e) => e.detection_oid)).toEqual([1n, 9223372036854775807n]);
    expect(batch.rejections).toHaveLength(1);
    expect(batch.rejections[0]).toMatchObject({ index: 1, data: "{not json" });
    expect(batch.rejections[0]!.reason).toMatch(/^this line is not valid JSON: /);
  });

  it.each([
    ["[1, 2", 400, /^the body is not valid JSON: /],
    ['{"a": 1}', 400, /must be a JSON array of events/],
    ["[]", 400, /empty array/],
    [JSON.stringify(Array(MAX_EVENTS_PER_REQUEST + 1).fill(good)), 413, /at most 10,000 events, this one has 10,001/],
  ])("answers a JSON body %# as a whole with %i", (body, status, message) => {
    let thrown: unknown;
    try {
      parseJsonArray(body);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BatchError);
    expect((thrown as BatchError).status).toBe(status);
    expect((thrown as BatchError).message).toMatch(message);
  });

  it("refuses NDJSON with no events or too many lines", () => {
    expect(() => parseNdjson("\n \n")).toThrow(/no events/);
    expect(() => parseNdjson(`${JSON.stringify(good)}\n`.repeat(MAX_EVENTS_PER_REQUEST + 1))).toThrow(/at most 10,000 events/);
  });
});
