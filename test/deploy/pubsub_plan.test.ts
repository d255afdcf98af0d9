// The deploy plan's Pub/Sub part: exact request bodies for a configuration, then applied for real on
// the Pub/Sub emulator — created on the first run, nothing to do on the second, and a resource changed
// by hand planned back with exactly the field that drifted.
import { PubSub } from "@google-cloud/pubsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, describePlan, differences, plan } from "../../deploy/plan.ts";
import { subscriptionProvider, topicProvider } from "../../deploy/pubsub_provider.ts";
import { pubsubResources } from "../../deploy/pubsub_resources.ts";
import { EMULATOR_LAUNCHER, startEmulator, type Emulator } from "../../stack/pubsub_emulator.ts";

const PROJECT = "acme-vision-prod";

describe("the Pub/Sub resources Sightline needs", () => {
  it("are the raw topic, two dead-letter topics, the BigQuery subscription and two dead-letter keepers", () => {
    const resources = pubsubResources({ project: PROJECT, region: "europe-west1" });
    expect(resources.map((r) => `${r.kind} ${r.name}`)).toEqual([
      "pubsub.topic raw-detections",
      "pubsub.topic ingest-dead-letters",
      "pubsub.topic raw-detections-dead-letters",
      "pubsub.subscription ingest-dead-letters-kept",
      "pubsub.subscription raw-detections-dead-letters-kept",
      "pubsub.subscription raw-detections-bigquery",
    ]);
    expect(resources[0]!.body).toEqual({ messageRetentionDuration: { seconds: 604_800 }, messageStoragePolicy: { allowedPersistenceRegions: ["europe-west1"] } });
    expect(resources.at(-1)!.body).toEqual({
      topic: "projects/acme-vision-prod/topics/raw-detections",
      ackDeadlineSeconds: 60,
      messageRetentionDuration: { seconds: 604_800 },
      bigqueryConfig: { table: "acme-vision-prod.detections_raw.raw_detection_events", useTableSchema: true, writeMetadata: true, dropUnknownFields: true },
      deadLetterPolicy: { deadLetterTopic: "projects/acme-vision-prod/topics/raw-detections-dead-letters", maxDeliveryAttempts: 5 },
    });
    expect(resources[3]!.body).toMatchObject({ topic: "projects/acme-vision-prod/topics/ingest-dead-letters", retainAckedMessages: true });
  });

  it("differ from what exists only in the fields Sightline sets", () => {
    const desired = { messageRetentionDuration: { seconds: 604_800 }, ackDeadlineSeconds: 60 };
    expect(differences(desired, { messageRetentionDuration: { seconds: 604_800 }, ackDeadlineSeconds: 60, labels: { team: "x" } })).toEqual([]);
    expect(differences(desired, { messageRetentionDuration: { seconds: 86_400 }, ackDeadlineSeconds: 60 })).toEqual([{ path: "messageRetentionDuration.seconds", current: 86_400, desired: 604_800 }]);
    expect(differences(desired, {})).toHaveLength(2);
  });
});

if (!EMULATOR_LAUNCHER) console.warn("\n*** SKIPPING the deploy plan's emulator test: google-cloud-cli-pubsub-emulator is not installed ***\n");

describe.skipIf(!EMULATOR_LAUNCHER)("the Pub/Sub part applied on the emulator", () => {
  let emulator: Emulator;
  let client: PubSub;
  beforeAll(async () => {
    process.env.METADATA_SERVER_DETECTION = "none";
    emulator = await startEmulator();
    client = new PubSub({ projectId: PROJECT, apiEndpoint: emulator.host, emulatorMode: true });
  });
  afterAll(async () => {
    await client?.close();
    await emulator?.stop();
  });

  it("creates everything once, then plans nothing, then repairs drift field by field", async () => {
    const providers = [topicProvider(client), subscriptionProvider(client)];
    const resources = pubsubResources({ project: PROJECT, region: "europe-west1" });
    const first = await plan(resources, providers);
    expect(first.map((c) => c.action)).toEqual(Array(6).fill("create"));
    await apply(first, providers);

    const second = await plan(resources, providers);
    expect(second.map((c) => c.action)).toEqual(Array(6).fill("keep"));
    expect(describePlan(second).at(-1)).toBe("plan: 0 to create, 0 to update, 6 unchanged");
    const [raw] = await client.subscription("raw-detections-bigquery").getMetadata();
    expect(raw.deadLetterPolicy?.maxDeliveryAttempts).toBe(5);
    expect(Number(raw.messageRetentionDuration?.seconds)).toBe(604_800);

    // Someone shortens the raw topic's retention and the dead letters' attempts by hand.
    await client.topic("raw-detections").setMetadata({ messageRetentionDuration: { seconds: 3_600 } });
    await client.subscription("raw-detections-bigquery").setMetadata({ deadLetterPolicy: { deadLetterTopic: `projects/${PROJECT}/topics/raw-detections-dead-letters`, maxDeliveryAttempts: 20 } });
    const drifted = await plan(resources, providers);
    expect(drifted.filter((c) => c.action !== "keep").map((c) => [c.resource.name, c.differences])).toEqual([
      ["raw-detections", [{ path: "messageRetentionDuration.seconds", current: 3_600, desired: 604_800 }]],
      ["raw-detections-bigquery", [{ path: "deadLetterPolicy.maxDeliveryAttempts", current: 20, desired: 5 }]],
    ]);
    await apply(drifted, providers);
    expect((await plan(resources, providers)).every((c) => c.action === "keep")).toBe(true);
  });
});
