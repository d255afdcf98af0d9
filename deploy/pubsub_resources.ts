// What production needs from Pub/Sub, as request bodies: the raw topic (7-day retention, so a
// subscription that falls behind or is recreated can replay a week), the BigQuery subscription that
// writes the raw table, and dead-letter topics with subscriptions that keep what lands there.
import {
  INGEST_DEAD_LETTER_SUBSCRIPTION,
  INGEST_DEAD_LETTER_TOPIC,
  RAW_DATASET,
  RAW_DEAD_LETTER_SUBSCRIPTION,
  RAW_DEAD_LETTER_TOPIC,
  RAW_SUBSCRIPTION,
  RAW_TABLE,
  RAW_TOPIC,
  SEVEN_DAYS_SECONDS,
} from "./names.ts";
import type { Resource } from "./plan.ts";

export interface PubsubConfig {
  project: string;
  /** Keep messages in this region only (data residency, and next to the datasets). */
  region?: string;
  /** Leave out the BigQuery subscription's table binding (the Pub/Sub emulator has no BigQuery subscriptions). */
  withoutBigQuery?: boolean;
}

const week = { seconds: SEVEN_DAYS_SECONDS };
const topicPath = (project: string, topic: string) => `projects/${project}/topics/${topic}`;

export function pubsubResources(config: PubsubConfig): Resource[] {
  const { project } = config;
  const topic = (name: string): Resource => ({
    kind: "pubsub.topic",
    name,
    body: { messageRetentionDuration: week, ...(config.region ? { messageStoragePolicy: { allowedPersistenceRegions: [config.region] } } : {}) },
  });
  const keeper = (name: string, of: string): Resource => ({
    kind: "pubsub.subscription",
    name,
    // Nothing consumes these automatically: they hold dead letters for a week, acknowledged or not.
    body: { topic: topicPath(project, of), ackDeadlineSeconds: 60, messageRetentionDuration: week, retainAckedMessages: true },
  });
  return [
    topic(RAW_TOPIC),
    topic(INGEST_DEAD_LETTER_TOPIC),
    topic(RAW_DEAD_LETTER_TOPIC),
    keeper(INGEST_DEAD_LETTER_SUBSCRIPTION, INGEST_DEAD_LETTER_TOPIC),
    keeper(RAW_DEAD_LETTER_SUBSCRIPTION, RAW_DEAD_LETTER_TOPIC),
    {
      kind: "pubsub.subscription",
      name: RAW_SUBSCRIPTION,
      body: {
        topic: topicPath(project, RAW_TOPIC),
        ackDeadlineSeconds: 60,
        messageRetentionDuration: week,
        // The table's own schema (its columns are the event's fields), the metadata columns
        // (subscription_name, message_id, publish_time, attributes), fields it lacks dropped.
        ...(config.withoutBigQuery
          ? {}
          : { bigqueryConfig: { table: `${project}.${RAW_DATASET}.${RAW_TABLE}`, useTableSchema: true, writeMetadata: true, dropUnknownFields: true } }),
        // A message BigQuery refuses 5 times goes to the dead-letter topic instead of blocking the rest.
        deadLetterPolicy: { deadLetterTopic: topicPath(project, RAW_DEAD_LETTER_TOPIC), maxDeliveryAttempts: 5 },
      },
    },
  ];
}
