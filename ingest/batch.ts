// Turns a request body into validated events and rejections, each rejection with the event's index
// in the batch and a reason a camera vendor can act on. One bad event never rejects its neighbours.
import { detectionEvent, describeIssues, type DetectionEvent } from "./event.ts";

export const MAX_EVENTS_PER_REQUEST = 10_000;

export interface Rejection {
  index: number;
  reason: string;
  /** The event as received, kept for the dead-letter sink. */
  data: string;
}

/** The body as received: a JSON array's text, or NDJSON's non-blank lines (the events, in order). */
export type BatchSource = { format: "array"; text: string } | { format: "ndjson"; lines: string[] };

export interface ValidatedBatch {
  events: DetectionEvent[];
  rejections: Rejection[];
  source: BatchSource;
}

/** A problem with the body as a whole: it maps to one HTTP status and message. */
export class BatchError extends Error {
  readonly status: 400 | 413;
  constructor(status: 400 | 413, message: string) {
    super(message);
    this.status = status;
  }
}

function tooMany(count: number): BatchError {
  return new BatchError(413, `a request holds at most ${MAX_EVENTS_PER_REQUEST.toLocaleString("en")} events, this one has ${count.toLocaleString("en")}: split it`);
}

function validate(items: { value: unknown; data: string; parseError?: string }[], source: BatchSource): ValidatedBatch {
  const events: DetectionEvent[] = [];
  const rejections: Rejection[] = [];
  items.forEach((item, index) => {
    if (item.parseError) {
      rejections.push({ index, reason: item.parseError.toWellFormed(), data: item.data });
      return;
    }
    const parsed = detectionEvent.safeParse(item.value);
    if (parsed.success) events.push(parsed.data);
    // Reasons quote bits of the input, and a cut can split a surrogate pair: keep them valid text.
    else rejections.push({ index, reason: describeIssues(parsed.error).toWellFormed(), data: item.data });
  });
  return { events, rejections, source };
}

/** application/json: the body is one JSON array of events. */
export function parseJsonArray(body: string): ValidatedBatch {
  if (body.trim().length === 0) throw new BatchError(400, "the body is empty: send a JSON array of events");
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new BatchError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(value)) throw new BatchError(400, "the body must be a JSON array of events (or NDJSON with Content-Type: application/x-ndjson)");
  if (value.length === 0) throw new BatchError(400, "the body is an empty array: send at least one event");
  if (value.length > MAX_EVENTS_PER_REQUEST) throw tooMany(value.length);
  return validate(value.map((event) => ({ value: event, data: JSON.stringify(event) ?? String(event) })), { format: "array", text: body });
}

/** application/x-ndjson: one event per line; a line that is not JSON rejects that event only. */
export function parseNdjson(body: string): ValidatedBatch {
  const lines = body.split("\n").filter((line) => line.trim().length > 0);
  if (lines.length === 0) throw new BatchError(400, "the body has no events: send one JSON object per line");
  if (lines.length > MAX_EVENTS_PER_REQUEST) throw tooMany(lines.length);
  return validate(
    lines.map((line) => {
      try {
        return { value: JSON.parse(line), data: line };
      } catch (error) {
        return { value: undefined, data: line, parseError: `this line is not valid JSON: ${(error as Error).message}` };
      }
    }),
    { format: "ndjson", lines }
  );
}
