// Where accepted events go. A sink resolves only once the events are durable (Pub/Sub acknowledged
// the publish; a DuckDB transaction committed), so the service can answer 202 knowing nothing is lost.
import type { DetectionEvent } from "../event.ts";
import type { Rejection } from "../batch.ts";

export interface SinkReceipt {
  /** One id per accepted event, in order: Pub/Sub message ids, or the local sink's own. */
  messageIds: string[];
}

export interface Sink {
  readonly name: string;
  /** Writes the valid events and the dead letters of one request; resolves when both are durable. */
  write(events: DetectionEvent[], rejections: Rejection[]): Promise<SinkReceipt>;
  /** False while the sink cannot take writes (not started, failing, closing). */
  isReady(): boolean;
  /** Writes what is pending, then stops accepting. */
  close(): Promise<void>;
}

/** The sink cannot take this write now (down, or too much in flight): the client should retry. */
export class SinkUnavailableError extends Error {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** JSON for an event with int64 values as decimal strings, so nothing is rounded on the way. */
export function eventJson(event: DetectionEvent): string {
  return JSON.stringify(event, (_key, value) => (typeof value === "bigint" ? value.toString() : value));
}
