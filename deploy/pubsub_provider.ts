// Pub/Sub topics and subscriptions through the official client (@google-cloud/pubsub): read, create,
// update with an update mask. Works the same against the emulator (PUBSUB_EMULATOR_HOST).
import type { PubSub } from "@google-cloud/pubsub";
import { desiredFields, isNotFound, type Provider, type Resource } from "./plan.ts";

/** Durations come back as { seconds: "604800", nanos: 0 }: compare them as numbers of seconds. */
function duration(value: unknown): { seconds: number } | undefined {
  if (!value || typeof value !== "object") return undefined;
  return { seconds: Number((value as { seconds?: unknown }).seconds ?? 0) };
}

function pick(source: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  return Object.fromEntries(fields.filter((f) => source[f] !== undefined && source[f] !== null).map((f) => [f, source[f]]));
}

async function orNull<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
}

export function topicProvider(client: PubSub): Provider {
  return {
    kind: "pubsub.topic",
    async read(resource) {
      const found = await orNull(() => client.topic(resource.name).getMetadata());
      if (!found) return null;
      const [metadata] = found;
      const regions = metadata.messageStoragePolicy?.allowedPersistenceRegions;
      return { messageRetentionDuration: duration(metadata.messageRetentionDuration), ...(regions?.length ? { messageStoragePolicy: { allowedPersistenceRegions: [...regions] } } : {}) };
    },
    async create(resource) {
      await client.createTopic({ name: resource.name, ...resource.body });
    },
    async update(resource, paths) {
      await client.topic(resource.name).setMetadata(desiredFields(resource, paths));
    },
  };
}

export function subscriptionProvider(client: PubSub): Provider {
  return {
    kind: "pubsub.subscription",
    async read(resource: Resource) {
      const found = await orNull(() => client.subscription(resource.name).getMetadata());
      if (!found) return null;
      const [m] = found;
      return {
        topic: m.topic,
        ackDeadlineSeconds: m.ackDeadlineSeconds,
        messageRetentionDuration: duration(m.messageRetentionDuration),
        retainAckedMessages: m.retainAckedMessages,
        ...(m.bigqueryConfig?.table ? { bigqueryConfig: pick(m.bigqueryConfig as Record<string, unknown>, ["table", "useTableSchema", "writeMetadata", "dropUnknownFields"]) } : {}),
        ...(m.deadLetterPolicy?.deadLetterTopic ? { deadLetterPolicy: { deadLetterTopic: m.deadLetterPolicy.deadLetterTopic, maxDeliveryAttempts: m.deadLetterPolicy.maxDeliveryAttempts } } : {}),
      };
    },
    async create(resource) {
      const { topic, ...options } = resource.body as { topic: string } & Record<string, unknown>;
      await client.topic(topic).createSubscription(resource.name, options);
    },
    async update(resource, paths) {
      // A subscription's topic cannot change: that needs a new subscription.
      if (paths.includes("topic")) throw new Error(`subscription ${resource.name} reads another topic; delete it or rename ours to change that`);
      await client.subscription(resource.name).setMetadata(desiredFields(resource, paths));
    },
  };
}
