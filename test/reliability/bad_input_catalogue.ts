// The catalogue of bad input: every way a camera can get a request wrong, with the status and message
// the service answers. RELIABILITY.md lists the same cases (a test keeps the two in step).

/** Two valid events sent next to a bad one, so each case also shows the good data is kept. */
export function neighbours(base: number): Array<Record<string, unknown>> {
  return [0, 1].map((i) => ({ detection_oid: base + i, video_camera_oid: 11, geographical_location_oid: 3, item_name: "car", timestamp_detected: 1_700_000_000_000 + i }));
}

const good = (id: number | string) => ({ detection_oid: id, video_camera_oid: 11, geographical_location_oid: 3, item_name: "car", timestamp_detected: 1_700_000_000_000 });

export interface Case {
  name: string;
  /** What a reader of RELIABILITY.md sees in the "message" column (a pattern of the actual one). */
  message: RegExp;
  status: number;
  request: (base: number) => { body?: Buffer | string; headers?: Record<string, string>; method?: string; slow?: boolean; headerBytes?: number };
  /** For 202 cases: the valid neighbours (ids from `base`) are stored, the bad one is rejected at this index. */
  rejectedIndex?: number;
}

/** One bad event between two good ones, as a JSON array. */
function withNeighbours(bad: unknown): (base: number) => { body: string } {
  return (base) => {
    const [a, b] = neighbours(base);
    return { body: `[${JSON.stringify(a)},${typeof bad === "string" ? bad : JSON.stringify(bad)},${JSON.stringify(b)}]` };
  };
}

const event = (overrides: Record<string, unknown>, drop: string[] = []) => {
  const e: Record<string, unknown> = { detection_oid: 999_999_999, video_camera_oid: 11, geographical_location_oid: 3, item_name: "car", timestamp_detected: 1_700_000_000_000, ...overrides };
  for (const key of drop) delete e[key];
  return e;
};

const array = (base: number) => JSON.stringify(neighbours(base));

export const CATALOGUE: Case[] = [
  // The request as a whole
  { name: "malformed JSON", status: 400, message: /^the body is not valid JSON/, request: () => ({ body: '[{"detection_oid": 1,, }]' }) },
  { name: "truncated JSON (connection cut mid-event)", status: 400, message: /^the body is not valid JSON/, request: (b) => ({ body: array(b).slice(0, 60) }) },
  { name: "a JSON object instead of an array", status: 400, message: /must be a JSON array of events/, request: () => ({ body: JSON.stringify(good(1)) }) },
  { name: "empty body", status: 400, message: /^the body is empty/, request: () => ({ body: "" }) },
  { name: "empty array", status: 400, message: /empty array: send at least one event/, request: () => ({ body: "[]" }) },
  { name: "10,001 events", status: 413, message: /at most 10,000 events, this one has 10,001/, request: (b) => ({ body: JSON.stringify(Array.from({ length: 10_001 }, (_, i) => good(b + i))) }) },
  { name: "a body over 8 MiB", status: 413, message: /limit is 8388608 bytes \(8 MiB\): split the batch/, request: () => ({ body: `[${JSON.stringify(event({ item_name: "x".repeat(4000) }))}${`,${JSON.stringify(event({ item_name: "x".repeat(4000) }))}`.repeat(2200)}]` }) },
  { name: "wrong content type (text/plain)", status: 415, message: /Content-Type must be application\/json .* got "text\/plain"/, request: (b) => ({ body: array(b), headers: { "content-type": "text/plain" } }) },
  { name: "no content type", status: 415, message: /got "none"/, request: (b) => ({ body: array(b), headers: { "content-type": "" } }) },
  { name: "missing bearer token", status: 401, message: /missing or unknown bearer token/, request: (b) => ({ body: array(b), headers: { authorization: "" } }) },
  { name: "wrong bearer token", status: 401, message: /missing or unknown bearer token/, request: (b) => ({ body: array(b), headers: { authorization: "Bearer not-the-token" } }) },
  { name: "invalid UTF-8", status: 400, message: /^the body is not valid UTF-8/, request: (b) => ({ body: Buffer.concat([Buffer.from(array(b).slice(0, -2)), Buffer.from([0xc3, 0x28]), Buffer.from("}]")]) }) },
  { name: "a NUL byte outside any string", status: 400, message: /^the body is not valid JSON/, request: (b) => ({ body: `${array(b).slice(0, 1)}\u0000${array(b).slice(1)}` }) },
  { name: "GET instead of POST", status: 405, message: /use POST to send detections/, request: () => ({ method: "GET" }) },
  { name: "a slow body (not complete within the request timeout)", status: 408, message: /^the request did not arrive within \d+ ms: send the whole body without pauses/, request: (b) => ({ body: array(b), slow: true }) },
  { name: "huge headers (over 16 KiB)", status: 431, message: /^the request headers are over 16 KiB/, request: (b) => ({ body: array(b), headerBytes: 20_000 }) },
  // One event among good ones: 202, that event rejected by index, its neighbours stored
  { name: "missing detection_oid", status: 202, rejectedIndex: 1, message: /^detection_oid: is required$/, request: withNeighbours(event({}, ["detection_oid"])) },
  { name: "missing item_name", status: 202, rejectedIndex: 1, message: /^item_name: is required$/, request: withNeighbours(event({}, ["item_name"])) },
  { name: "detection_oid as a word", status: 202, rejectedIndex: 1, message: /^detection_oid: must be an integer or a decimal string, got "abc"$/, request: withNeighbours(event({ detection_oid: "abc" })) },
  { name: "fractional detection_oid", status: 202, rejectedIndex: 1, message: /^detection_oid: must be an integer, got 1.5$/, request: withNeighbours(event({ detection_oid: 1.5 })) },
  { name: "negative detection_oid", status: 202, rejectedIndex: 1, message: /^detection_oid: must not be negative/, request: withNeighbours(event({ detection_oid: -7 })) },
  { name: "detection_oid beyond int64 (decimal string)", status: 202, rejectedIndex: 1, message: /^detection_oid: is outside the int64 range: 9223372036854775808$/, request: withNeighbours(event({ detection_oid: "9223372036854775808" })) },
  { name: "detection_oid beyond 2^53 as a JSON number", status: 202, rejectedIndex: 1, message: /beyond 2\^53-1 as a JSON number .* send it as a decimal string/, request: withNeighbours('{"detection_oid":9007199254740993,"video_camera_oid":11,"geographical_location_oid":3,"item_name":"car","timestamp_detected":1700000000000}') },
  { name: "detection_oid as a long word ending in an emoji (the quoted reason cuts it)", status: 202, rejectedIndex: 1, message: /^detection_oid: must be an integer or a decimal string, got "x{39}\uFFFD"$/, request: withNeighbours(event({ detection_oid: `${"x".repeat(39)}😀` })) },
  { name: "video_camera_oid as a boolean", status: 202, rejectedIndex: 1, message: /^video_camera_oid: must be an integer or a decimal string, got boolean$/, request: withNeighbours(event({ video_camera_oid: true })) },
  { name: "geographical_location_oid null", status: 202, rejectedIndex: 1, message: /^geographical_location_oid: is required$/, request: withNeighbours(event({ geographical_location_oid: null })) },
  { name: "empty item_name", status: 202, rejectedIndex: 1, message: /^item_name: must not be empty$/, request: withNeighbours(event({ item_name: "" })) },
  { name: "item_name of 5,001 characters", status: 202, rejectedIndex: 1, message: /^item_name: must be at most 5,000 characters, got 5001$/, request: withNeighbours(event({ item_name: "é".repeat(5001) })) },
  { name: "item_name as a number", status: 202, rejectedIndex: 1, message: /^item_name: must be a string, got number$/, request: withNeighbours(event({ item_name: 42 })) },
  { name: "item_name with a NUL character", status: 202, rejectedIndex: 1, message: /^item_name: must not contain the NUL character/, request: withNeighbours(event({ item_name: "car\u0000" })) },
  { name: "item_name with an unpaired surrogate", status: 202, rejectedIndex: 1, message: /^item_name: must be valid Unicode text/, request: withNeighbours('{"detection_oid":1,"video_camera_oid":11,"geographical_location_oid":3,"item_name":"\\ud800","timestamp_detected":1700000000000}') },
  { name: "timestamp far in the past (1970)", status: 202, rejectedIndex: 1, message: /^timestamp_detected: is 1, before 2000-01-01/, request: withNeighbours(event({ timestamp_detected: 1 })) },
  { name: "timestamp in seconds instead of milliseconds", status: 202, rejectedIndex: 1, message: /^timestamp_detected: is 1700000000, which is seconds since the epoch: send milliseconds \(1700000000000\)$/, request: withNeighbours(event({ timestamp_detected: 1_700_000_000 })) },
  { name: "timestamp far in the future", status: 202, rejectedIndex: 1, message: /^timestamp_detected: is 2286-11-20T17:46:40.000Z, more than a day in the future/, request: withNeighbours(event({ timestamp_detected: 10_000_000_000_000 })) },
  { name: "timestamp as a date string", status: 202, rejectedIndex: 1, message: /^timestamp_detected: must be an integer or a decimal string, got "2024-01-01T00:00:00Z"$/, request: withNeighbours(event({ timestamp_detected: "2024-01-01T00:00:00Z" })) },
  { name: "an event that is a number", status: 202, rejectedIndex: 1, message: /each event must be a JSON object/, request: withNeighbours("42") },
  { name: "an event that is null", status: 202, rejectedIndex: 1, message: /each event must be a JSON object/, request: withNeighbours("null") },
  { name: "an NDJSON line that is not JSON", status: 202, rejectedIndex: 1, message: /^this line is not valid JSON/, request: (b) => ({ body: `${JSON.stringify(neighbours(b)[0])}\n{"detection_oid": \n${JSON.stringify(neighbours(b)[1])}\n`, headers: { "content-type": "application/x-ndjson" } }) },
  // Not an error: extra fields are dropped and the event is kept, as the contract says.
  { name: "extra fields (dropped, event kept)", status: 202, message: /^(no error)$/, request: (b) => ({ body: JSON.stringify([{ ...neighbours(b)[0], colour: "red", confidence: 0.93 }, neighbours(b)[1]]) }) },
];
