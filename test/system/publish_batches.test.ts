// The pubsub sink's batches on the real Pub/Sub emulator: messages of concurrent callers share publish
// requests within Pub/Sub's limits, and each caller gets back the ids of its own messages, in order.
import { PubSub, v1, type Message } from "@google-cloud/pubsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishBatches, type BatchLimits, type PublishMessage } from "../../ingest/sinks/publish_batches.ts";
import { pullMessages } from "../support/pubsub_pull.ts";
import { EMULATOR_LAUNCHER, startEmulator, type Emulator } from "../../stack/pubsub_emulator.ts";

if (!EMULATOR_LAUNCHER) {
  console.warn("\n*** SKIPPING the Pub/Sub emulator tests: google-cloud-cli-pubsub-emulator is not installed ***\n");
}

const PROJECT = "sightline-batches";

describe.skipIf(!EMULATOR_LAUNCHER)("publish batches on the Pub/Sub emulator", () => {
  let emulator: Emulator;
  let admin: PubSub;
  let publisher: Promise<v1.PublisherClient>;
  let topics = 0;

  beforeAll(async () => {
    emulator = await startEmulator();
    admin = new PubSub({ projectId: PROJECT, apiEndpoint: emulator.host, emulatorMode: true });
    publisher = admin.getClientConfig().then((config) => new v1.PublisherClient({ ...config }));
  });

  afterAll(async () => {
    await (await publisher)?.close();
    await admin?.close();
    await emulator?.stop();
  });

  /** A new topic with a subscription, and batches publishing to it that record each request's size. */
  async function setUp(limits: BatchLimits) {
    const name = `batches-${++topics}`;
    const [topic] = await admin.createTopic(name);
    await topic.createSubscription(`${name}-check`);
    const sizes: number[] = [];
    const batches = new PublishBatches({ publisher, topic: topic.name, callOptions: { timeout: 5_000 }, limits, onBatch: (messages) => sizes.push(messages) });
    return { batches, sizes, subscription: `${name}-check` };
  }

  /** Every message on the subscription, by message id. */
  async function pullAll(subscription: string, count: number): Promise<Map<string, Message>> {
    return new Map((await pullMessages(admin, subscription, count)).map((message) => [message.id, message]));
  }

  const messages = (caller: string, count: number): PublishMessage[] =>
    Array.from({ length: count }, (_, i) => ({ data: Buffer.from(`${caller}-${i}`), attributes: { caller } }));

  it("shares publish requests between callers, at most maxMessages each, and gives each caller its own ids in order", async () => {
    const { batches, sizes, subscription } = await setUp({ maxMessages: 1000, maxBytes: 9 * 1024 * 1024, maxMilliseconds: 50 });
    const [a, b, c] = await Promise.all([
      batches.publish(messages("a", 600)),
      batches.publish(messages("b", 600)),
      batches.publish(messages("c", 3)),
    ]);
    // a's 600 and b's first 400 fill one request; b's other 200 and c's 3 wait for the timer. (sizes is
    // in the order Pub/Sub answered.)
    expect([...sizes].sort((x, y) => y - x)).toEqual([1000, 203]);
    expect([a.length, b.length, c.length]).toEqual([600, 600, 3]);
    const pulled = await pullAll(subscription, 1203);
    for (const [caller, ids] of [["a", a], ["b", b], ["c", c]] as const) {
      expect(ids.map((id) => pulled.get(id)?.data.toString())).toEqual(messages(caller, ids.length).map((m) => m.data.toString()));
      expect(ids.every((id) => pulled.get(id)?.attributes["caller"] === caller)).toBe(true);
    }
  });

  it("splits one caller's messages by maxBytes, and sends a batch that is not full after maxMilliseconds", async () => {
    const { batches, sizes, subscription } = await setUp({ maxMessages: 1000, maxBytes: 10 * (64 + 4), maxMilliseconds: 20 });
    const started = performance.now();
    const ids = await batches.publish(messages("d", 25).map((m) => ({ ...m, data: Buffer.from(m.data.toString().padEnd(4, "_")) })));
    expect(sizes).toEqual([10, 10, 5]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(19);
    const pulled = await pullAll(subscription, 25);
    expect(ids.map((id) => pulled.get(id)?.data.toString().replace(/_+$/, ""))).toEqual(messages("d", 25).map((m) => m.data.toString()));
  });

  it("fails every caller whose messages were in a request Pub/Sub refused, and no other", async () => {
    const { batches } = await setUp({ maxMessages: 2, maxBytes: 9 * 1024 * 1024, maxMilliseconds: 5 });
    const missing = new PublishBatches({ publisher, topic: `projects/${PROJECT}/topics/does-not-exist`, callOptions: { timeout: 2_000, retry: null } });
    const results = await Promise.allSettled([missing.publish(messages("e", 1)), missing.publish(messages("f", 1)), batches.publish(messages("g", 2))]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "fulfilled"]);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/NOT_FOUND|not found/i);
  });
});
