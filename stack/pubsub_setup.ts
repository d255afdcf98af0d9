// Production's Pub/Sub shape on the emulator: the raw topic, the service's dead-letter topic, the
// subscription the BigQuery subscription would be, and a subscription that keeps dead letters.
import { PubSub } from "@google-cloud/pubsub";
import type { Database } from "../runner/database.ts";
import { startEmulator, type Emulator } from "./pubsub_emulator.ts";
import { SubscriptionWriter } from "./subscription_writer.ts";

export const RAW_TOPIC = "raw-detections";
export const INGEST_DEAD_LETTER_TOPIC = "ingest-dead-letters";
export const RAW_SUBSCRIPTION = "raw-detections-bigquery";
export const DEAD_LETTER_SUBSCRIPTION = "ingest-dead-letters-kept";
export const LOCAL_PROJECT = "sightline-local";

function alreadyExists(error: unknown): boolean {
  return (error as { code?: number }).code === 6;
}

/** Creates what is missing; running it again changes nothing. */
export async function ensurePubsubResources(client: PubSub): Promise<void> {
  for (const name of [RAW_TOPIC, INGEST_DEAD_LETTER_TOPIC]) {
    await client.createTopic(name).catch((error) => {
      if (!alreadyExists(error)) throw error;
    });
  }
  const subscriptions: Array<[string, string]> = [
    [RAW_TOPIC, RAW_SUBSCRIPTION],
    [INGEST_DEAD_LETTER_TOPIC, DEAD_LETTER_SUBSCRIPTION],
  ];
  for (const [topic, subscription] of subscriptions) {
    // 60 s to commit a batch before Pub/Sub redelivers it (the writer commits within milliseconds).
    await client.topic(topic).createSubscription(subscription, { ackDeadlineSeconds: 60 }).catch((error) => {
      if (!alreadyExists(error)) throw error;
    });
  }
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
    await ensurePubsubResources(client);
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
