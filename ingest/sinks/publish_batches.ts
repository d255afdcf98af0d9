// Publish requests for one topic, built from the messages of many HTTP requests. Pub/Sub's own
// publisher (Topic.publishMessage) keeps a promise, a queue entry and a size estimate per message; at a
// few hundred events per request that costs the service about twice the CPU of sending the same
// messages as one gRPC publish per batch (BENCHMARKS.md, "Sessions 17 and 18"). So batches are built here and
// sent with the generated v1 PublisherClient, and each caller waits for the batches its messages went in.
import type { CallOptions, v1 } from "@google-cloud/pubsub";

export interface PublishMessage {
  data: Buffer;
  attributes: Record<string, string>;
}

export interface BatchLimits {
  /** Pub/Sub takes at most 1,000 messages per publish request. */
  maxMessages: number;
  /** ... and at most 10 MB. */
  maxBytes: number;
  /** How long a batch that is not full waits for more messages. */
  maxMilliseconds: number;
}

export const PUBLISH_LIMITS: BatchLimits = { maxMessages: 1000, maxBytes: 9 * 1024 * 1024, maxMilliseconds: 5 };

interface Batch {
  messages: PublishMessage[];
  bytes: number;
  ids: Promise<string[]>;
  settle: (ids: string[] | Error) => void;
}

/** A slice of one batch: where a caller's messages went. */
interface Slice {
  batch: Batch;
  start: number;
  count: number;
}

export interface PublishBatchesOptions {
  publisher: Promise<v1.PublisherClient>;
  /** The topic's full name, projects/P/topics/T. */
  topic: string;
  /** Timeout and retries of each publish request. */
  callOptions: CallOptions;
  limits?: BatchLimits;
  /** Called for each batch Pub/Sub acknowledged: its messages, and seconds from sending to the answer. */
  onBatch?: (messages: number, seconds: number) => void;
}

export class PublishBatches {
  private readonly publisher: Promise<v1.PublisherClient>;
  private readonly topic: string;
  private readonly callOptions: CallOptions;
  private readonly limits: BatchLimits;
  private readonly onBatch: ((messages: number, seconds: number) => void) | undefined;
  private open: Batch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly sending = new Set<Promise<unknown>>();

  constructor(options: PublishBatchesOptions) {
    this.publisher = options.publisher;
    this.topic = options.topic;
    this.callOptions = options.callOptions;
    this.limits = options.limits ?? PUBLISH_LIMITS;
    this.onBatch = options.onBatch;
  }

  /** Publishes the messages; resolves with their message ids, in order, once Pub/Sub has them all. */
  async publish(messages: PublishMessage[]): Promise<string[]> {
    const slices: Slice[] = [];
    for (const message of messages) {
      const size = message.data.length + 64;
      if (this.open && this.open.bytes + size > this.limits.maxBytes) this.send();
      const batch = (this.open ??= this.newBatch());
      const last = slices.at(-1);
      if (last?.batch === batch) last.count++;
      else slices.push({ batch, start: batch.messages.length, count: 1 });
      batch.messages.push(message);
      batch.bytes += size;
      if (batch.messages.length >= this.limits.maxMessages) this.send();
    }
    if (this.open && !this.timer) this.timer = setTimeout(() => this.send(), this.limits.maxMilliseconds);
    const ids = await Promise.all(slices.map(async (slice) => (await slice.batch.ids).slice(slice.start, slice.start + slice.count)));
    return ids.flat();
  }

  /** Sends the batch being built now, and waits for every batch sent. */
  async flush(): Promise<void> {
    this.send();
    await Promise.allSettled([...this.sending]);
  }

  private newBatch(): Batch {
    let settle!: Batch["settle"];
    const ids = new Promise<string[]>((resolve, reject) => {
      settle = (result) => (result instanceof Error ? reject(result) : resolve(result));
    });
    // Every batch has a caller waiting on it; this only keeps a failure from also counting as unhandled.
    ids.catch(() => undefined);
    return { messages: [], bytes: 0, ids, settle };
  }

  private send(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.open;
    this.open = undefined;
    if (!batch || batch.messages.length === 0) return;
    const started = performance.now();
    const sent = this.publisher
      .then((client) => client.publish({ topic: this.topic, messages: batch.messages }, this.callOptions))
      .then(([response]) => {
        const ids = response.messageIds ?? [];
        if (ids.length !== batch.messages.length) {
          throw new Error(`Pub/Sub returned ${ids.length} message ids for ${batch.messages.length} messages`);
        }
        this.onBatch?.(ids.length, (performance.now() - started) / 1000);
        batch.settle(ids);
      })
      .catch((error: unknown) => batch.settle(error instanceof Error ? error : new Error(String(error))));
    this.sending.add(sent);
    void sent.finally(() => this.sending.delete(sent));
  }
}
