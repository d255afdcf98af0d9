// Production's Pub/Sub shape on the emulator: the raw topic, the dead-letter topics, the subscription
// the BigQuery subscription would be, and subscriptions that keep dead letters.
import { PubSub } from "@google-cloud/pubsub";
import type { Database } from "../runner/database.ts";
import { INGEST_DEAD_LETTER_TOPIC, RAW_SUBSCRIPTION, RAW_TOPIC } from "../deploy/names.ts";
import { apply, plan } from "../deploy/plan.ts";
import { subscriptionProvider, topicProvider } from "../deploy/pubsub_provider.ts";
import { pubsubResources } from "../deploy/pubsub_resources.ts";
import { startEmulator, type Emulator } from "./pubsub_emulator.ts";
import { SubscriptionWriter } from "./subscription_writer.ts";

export { INGEST_DEAD_LETTER_TOPIC, RAW_SUBSCRIPTION, RAW_TOPIC } from "../deploy/names.ts";
export const LOCAL_PROJECT = "sightline-local";

/**
 * Production's Pub/Sub resources, from the deploy plan itself (the same bodies `sightline deploy`
 * applies), less the BigQuery binding: the subscription writer pulls that subscription instead.
 * Creates what is missing; running it again changes nothing.
 */
export async function ensurePubsubResources(client: PubSub, project: string): Promise<void> {
  const providers = [topicProvider(client), subscriptionProvider(client)];
  await apply(await plan(pubsubResources({ project, withoutBigQuery: true }), providers), providers);
}

export interface PubsubStack {
  emulatorHost: string;
  /** What the ingest service's configuration needs to publish here. */
  env: Record<string, string>;
  writer: SubscriptionWriter;
  stop(): Promise<void>;
}

export interface PubsubStackOptions {
  db: Database;
  rawSchema: string;
  projectId?: string;
  /** An emulator already running; otherwise one is started on a free loopback port. */
  emulatorHost?: string;
}

/**
 * The emulator, its resources and the subscription writer. The ingest service's Pub/Sub client finds
 * the emulator through PUBSUB_EMULATOR_HOST in process.env: set it before starting the service.
 */
export async function startPubsubStack(options: PubsubStackOptions): Promise<PubsubStack> {
  const projectId = options.projectId ?? LOCAL_PROJECT;
  let emulator: Emulator | undefined;
  const emulatorHost = options.emulatorHost ?? (emulator = await startEmulator()).host;
  const client = new PubSub({ projectId, apiEndpoint: emulatorHost, emulatorMode: true });
  try {
    await ensurePubsubResources(client, projectId);
    const subscription = client.subscription(RAW_SUBSCRIPTION, {
      // Enough in flight to keep up with tens of thousands of events a second, bounded so a stalled
      // database cannot make the process hold an unbounded backlog.
      flowControl: { maxMessages: 50_000, allowExcessMessages: false },
    });
    const writer = new SubscriptionWriter(subscription, await options.db.instance.connect(), {
      rawSchema: options.rawSchema,
      subscriptionName: `projects/${projectId}/subscriptions/${RAW_SUBSCRIPTION}`,
    });
    writer.start();
    return {
      emulatorHost,
      env: {
        GOOGLE_CLOUD_PROJECT: projectId,
        PUBSUB_TOPIC: RAW_TOPIC,
        PUBSUB_DEAD_LETTER_TOPIC: INGEST_DEAD_LETTER_TOPIC,
      },
      writer,
      async stop() {
        await writer.close();
        await client.close();
        await emulator?.stop();
      },
    };
  } catch (error) {
    await client.close().catch(() => undefined);
    await emulator?.stop();
    throw error;
  }
}
