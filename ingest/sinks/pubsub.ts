// The production sink: one Pub/Sub message per event on the raw topic (the BigQuery subscription
// writes one row per message), dead letters on a second topic. A request is acknowledged only when
// Pub/Sub has acknowledged every publish (publishMessage resolves with the server's message id).
import { PubSub, type Topic } from "@google-cloud/pubsub";
import type { Rejection } from "../batch.ts";
import type { DetectionEvent } from "../event.ts";
import { SinkUnavailableError, type Sink, type SinkReceipt } from "./sink.ts";

export interface PubsubSinkOptions {
  projectId: string;
  topic: string;
  deadLetterTopic: string;
  /** Bytes published but not yet acknowledged, beyond which new requests get 503. */
  maxInflightBytes?: number;
  /** A request whose publishes are not all acknowledged by then gets 503 (and the client retries). */
  publishTimeoutMs?: number;
  onPublish?: (messages: number, seconds: number) => void;
}

export const MESSAGE_ATTRIBUTES = { schema: "sightline.detection.v1", source: "sightline-ingest" } as const;

/**
 * The message body the subscription maps onto the table's columns. Ids are written as JSON integers
 * digit for digit from the bigint, so values beyond 2^53 reach BigQuery exactly.
 */
export function messageBody(event: DetectionEvent): string {
  return `{"detection_oid":${event.detection_oid},"video_camera_oid":${event.video_camera_oid},"geographical_location_oid":${event.geographical_location_oid},"item_name":${JSON.stringify(event.item_name)},"timestamp_detected":${event.timestamp_detected}}`;
}

export class PubsubSink implements Sink {
  readonly name = "pubsub";
  private readonly client: PubSub;
  private readonly topic: Topic;
  private readonly deadLetters: Topic;
  private readonly options: Required<Omit<PubsubSinkOptions, "onPublish">> & Pick<PubsubSinkOptions, "onPublish">;
  private inflightBytes = 0;
  private closed = false;

  constructor(options: PubsubSinkOptions, client = new PubSub({ projectId: options.projectId })) {
    this.options = { maxInflightBytes: 64 * 1024 * 1024, publishTimeoutMs: 5_000, ...options };
    this.client = client;
    // Batching tuned for throughput: the client's cap of 1,000 messages per publish request, and a
    // short wait so a request's events leave together.
    const batching = { maxMessages: 1000, maxBytes: 9 * 1024 * 1024, maxMilliseconds: 5 };
    const gaxOpts = { timeout: this.options.publishTimeoutMs, retry: { retryCodes: [10, 1, 4, 13, 8, 14, 2], backoffSettings: { initialRetryDelayMillis: 50, retryDelayMultiplier: 1.5, maxRetryDelayMillis: 1000, initialRpcTimeoutMillis: this.options.publishTimeoutMs, rpcTimeoutMultiplier: 1, maxRpcTimeoutMillis: this.options.publishTimeoutMs, totalTimeoutMillis: this.options.publishTimeoutMs } } };
    this.topic = client.topic(options.topic, { batching, gaxOpts });
    this.deadLetters = client.topic(options.deadLetterTopic, { batching, gaxOpts });
  }

  isReady(): boolean {
    return !this.closed;
  }

  async write(events: DetectionEvent[], rejections: Rejection[]): Promise<SinkReceipt> {
    if (this.closed) throw new SinkUnavailableError("the service is shutting down");
    const bodies = events.map(messageBody);
    const bytes = bodies.reduce((sum, body) => sum + body.length, 0) + rejections.reduce((sum, r) => sum + r.data.length, 0);
    if (this.inflightBytes + bytes > this.options.maxInflightBytes) {
      throw new SinkUnavailableError(`${this.inflightBytes} bytes are waiting for Pub/Sub; retry shortly`);
    }
    this.inflightBytes += bytes;
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const publishes = Promise.all([
        Promise.all(bodies.map((body) => this.topic.publishMessage({ data: Buffer.from(body), attributes: MESSAGE_ATTRIBUTES }))),
        Promise.all(
          rejections.map((r) =>
            this.deadLetters.publishMessage({ data: Buffer.from(r.data), attributes: { ...MESSAGE_ATTRIBUTES, reason: r.reason.slice(0, 1000), index: String(r.index) } })
          )
        ),
      ]);
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`not acknowledged within ${this.options.publishTimeoutMs} ms`)), this.options.publishTimeoutMs);
      });
      const [messageIds] = await Promise.race([publishes, deadline]);
      this.options.onPublish?.(bodies.length + rejections.length, (performance.now() - started) / 1000);
      return { written: messageIds.length };
    } catch (error) {
      throw new SinkUnavailableError(`Pub/Sub did not acknowledge the events: ${(error as Error).message.split("\n")[0]}`, 2);
    } finally {
      clearTimeout(timer);
      this.inflightBytes -= bytes;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.topic.flush(), this.deadLetters.flush()]);
    await this.client.close();
  }
}
