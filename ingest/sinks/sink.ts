// Where accepted events go. A sink resolves only once the events are durable (Pub/Sub acknowledged
// the publish; a DuckDB transaction committed), so the service can answer 202 knowing nothing is lost.
import type { DetectionEvent } from "../event.ts";
import type { BatchSource, Rejection } from "../batch.ts";

export interface SinkReceipt {
  /** Events made durable. */
  written: number;
}

export interface Sink {
  readonly name: string;
  /**
   * Writes the valid events and the dead letters of one request; resolves when both are durable.
   * `source` is the body as received, which a sink may store as it is when every event in it is valid.
   */
  write(events: DetectionEvent[], rejections: Rejection[], source?: BatchSource): Promise<SinkReceipt>;
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
