// The detection event contract (Dataset A), as one zod schema; the TypeScript type is inferred from it.
import { z } from "zod";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL = /^-?[0-9]{1,19}$/;

/**
 * An int64 carried exactly: a JSON number up to 2^53−1, or a decimal string for the full int64 range.
 * Larger JSON numbers are refused, not rounded: JSON.parse has already lost their last digits.
 */
const int64 = z.unknown().transform((value, ctx): bigint => {
  const fail = (message: string) => {
    ctx.addIssue({ code: "custom", message });
    return z.NEVER;
  };
  if (value === undefined || value === null) return fail("is required");
  if (typeof value === "number") {
    if (!Number.isInteger(value)) return fail(`must be an integer, got ${value}`);
    if (!Number.isSafeInteger(value)) return fail("is beyond 2^53-1 as a JSON number (precision is lost): send it as a decimal string");
    return BigInt(value);
  }
  if (typeof value === "string") {
    if (!DECIMAL.test(value)) return fail(`must be an integer or a decimal string, got "${value.slice(0, 40)}"`);
    const big = BigInt(value);
    if (big < INT64_MIN || big > INT64_MAX) return fail(`is outside the int64 range: ${value}`);
    return big;
  }
  return fail(`must be an integer or a decimal string, got ${Array.isArray(value) ? "an array" : typeof value}`);
});

/** Dataset A's varchar(5000) counts characters (code points), not UTF-16 units. */
const itemName = z.unknown().transform((value, ctx): string => {
  const fail = (message: string) => {
    ctx.addIssue({ code: "custom", message });
    return z.NEVER;
  };
  if (value === undefined || value === null) return fail("is required");
  if (typeof value !== "string") return fail(`must be a string, got ${typeof value}`);
  if (value.length === 0) return fail("must not be empty");
  // An unpaired surrogate (\ud800 in JSON) is not text: it has no UTF-8 form for the warehouse.
  if (!value.isWellFormed()) return fail("must be valid Unicode text: it contains an unpaired surrogate");
  // BigQuery and most consumers downstream treat NUL as a terminator or refuse it.
  if (value.includes("\u0000")) return fail("must not contain the NUL character (\\u0000)");
  if (value.length > 5000 && [...value].length > 5000) return fail(`must be at most 5,000 characters, got ${[...value].length}`);
  return value;
});

/** Object ids (detections, cameras, locations) count up from 0; a negative one is a sign bug upstream. */
const objectId = int64.refine((value) => value >= 0n, { message: "must not be negative: object ids are 0 or more" });

/** Detections from before this are not camera data (epoch 2000-01-01T00:00:00Z, in milliseconds). */
export const EARLIEST_DETECTION_MS = 946_684_800_000n;
/** Camera clocks drift; a day ahead is the most the pipeline accepts. */
export const MAX_CLOCK_AHEAD_MS = 86_400_000n;

const timestampMillis = int64.transform((value, ctx): bigint => {
  if (value < EARLIEST_DETECTION_MS) {
    // The common mistake: epoch seconds where milliseconds are expected.
    const seconds = value * 1000n >= EARLIEST_DETECTION_MS && value * 1000n <= BigInt(Date.now()) + MAX_CLOCK_AHEAD_MS;
    ctx.addIssue({
      code: "custom",
      message: seconds
        ? `is ${value}, which is seconds since the epoch: send milliseconds (${value * 1000n})`
        : `is ${value}, before 2000-01-01: send epoch milliseconds of the detection`,
    });
    return z.NEVER;
  }
  const latest = BigInt(Date.now()) + MAX_CLOCK_AHEAD_MS;
  if (value > latest) {
    const when = value <= 8_640_000_000_000_000n ? new Date(Number(value)).toISOString() : "beyond the year 275760";
    ctx.addIssue({ code: "custom", message: `is ${when}, more than a day in the future: check the camera's clock (epoch milliseconds, UTC)` });
    return z.NEVER;
  }
  return value;
});

export const detectionEvent = z.object(
  {
    detection_oid: objectId,
    video_camera_oid: objectId,
    geographical_location_oid: objectId,
    item_name: itemName,
    timestamp_detected: timestampMillis,
  },
  { error: "each event must be a JSON object" }
);

export type DetectionEvent = z.output<typeof detectionEvent>;

/** One line a camera vendor can act on, e.g. "detection_oid: must be an integer, got 1.5". */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message)).join("; ");
}
