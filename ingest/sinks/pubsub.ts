// The production sink: one Pub/Sub message per event on the raw topic (the BigQuery subscription
// writes one row per message), dead letters on a second topic. A request is acknowledged only when
// Pub/Sub has acknowledged every publish (each publish request returns the server's message ids).
import { PubSub, v1 } from "@google-cloud/pubsub";
import type { Rejection } from "../batch.ts";
import type { DetectionEvent } from "../event.ts";
import { PublishBatches } from "./publish_batches.ts";
import { SinkUnavailableError, type Sink, type SinkReceipt } from "./sink.ts";

export interface PubsubSinkOptions {
  projectId: string;
  topic: string;
  deadLetterTopic: string;
  /** Bytes published but not yet acknowledged, beyond which new requests get 503. */
  maxInflightBytes?: number;
  /** A request whose publishes are not all acknowledged by then gets 503 (and the client retries). */
  publishTimeoutMs?: number;
  /** Called for each publish request Pub/Sub acknowledged: its messages, and its seconds. */
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
  private readonly publisher: Promise<v1.PublisherClient>;
  private readonly topic: PublishBatches;
  private readonly deadLetters: PublishBatches;
  private readonly options: Required<Omit<PubsubSinkOptions, "onPublish">> & Pick<PubsubSinkOptions, "onPublish">;
  private inflightBytes = 0;
  private closed = false;

  constructor(options: PubsubSinkOptions, client = new PubSub({ projectId: options.projectId })) {
    this.options = { maxInflightBytes: 64 * 1024 * 1024, publishTimeoutMs: 5_000, ...options };
    this.client = client;
    // The generated client, configured as the PubSub object would configure it (project, credentials,
    // or the emulator named by PUBSUB_EMULATOR_HOST).
    this.publisher = client.getClientConfig().then((config) => new v1.PublisherClient({ ...config }));
    // A failure here reaches every publish (as 503); this only keeps it from also counting as unhandled.
    this.publisher.catch(() => undefined);
    // Retried within the publish timeout on the codes Pub/Sub's own publisher retries.
    const gaxOpts = { timeout: this.options.publishTimeoutMs, retry: { retryCodes: [10, 1, 4, 13, 8, 14, 2], backoffSettings: { initialRetryDelayMillis: 50, retryDelayMultiplier: 1.5, maxRetryDelayMillis: 1000, initialRpcTimeoutMillis: this.options.publishTimeoutMs, rpcTimeoutMultiplier: 1, maxRpcTimeoutMillis: this.options.publishTimeoutMs, totalTimeoutMillis: this.options.publishTimeoutMs } } };
    // Batching tuned for throughput: Pub/Sub's cap of 1,000 messages per publish request, and a short
    // wait so the events of requests arriving together leave together.
    const batches = (topic: string) =>
      new PublishBatches({ publisher: this.publisher, topic: client.topic(topic).name, callOptions: gaxOpts, onBatch: this.options.onPublish });
    this.topic = batches(options.topic);
    this.deadLetters = batches(options.deadLetterTopic);
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
    let timer: NodeJS.Timeout | undefined;
    try {
      const publishes = Promise.all([
        this.topic.publish(bodies.map((body) => ({ data: Buffer.from(body), attributes: MESSAGE_ATTRIBUTES }))),
        this.deadLetters.publish(
          rejections.map((r) => ({ data: Buffer.from(r.data), attributes: { ...MESSAGE_ATTRIBUTES, reason: r.reason.slice(0, 1000), index: String(r.index) } }))
        ),
      ]);
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`not acknowledged within ${this.options.publishTimeoutMs} ms`)), this.options.publishTimeoutMs);
      });
      const [messageIds] = await Promise.race([publishes, deadline]);
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
    await this.publisher.then((publisher) => publisher.close()).catch(() => undefined);
    await this.client.close();
  }
}
