// The pubsub sink against the real Pub/Sub emulator: what a subscriber pulls back is what was accepted,
// one message per event; with the emulator gone the service answers 503 and acknowledges nothing.
import { PubSub } from "@google-cloud/pubsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../ingest/config.ts";
import { createLogger } from "../../ingest/logging.ts";
import { startService, type Service } from "../../ingest/service.ts";
import { pullMessages } from "../support/pubsub_pull.ts";
import { EMULATOR_LAUNCHER, startEmulator, type Emulator } from "../../stack/pubsub_emulator.ts";

if (!EMULATOR_LAUNCHER) {
  console.warn("\n*** SKIPPING the Pub/Sub emulator tests: google-cloud-cli-pubsub-emulator is not installed ***\n");
}

const PROJECT = "sightline-test";
const TOKEN = "emulator-token";

describe.skipIf(!EMULATOR_LAUNCHER)("the pubsub sink on the Pub/Sub emulator", () => {
  let emulator: Emulator;
  let service: Service;
  let admin: PubSub;

  beforeAll(async () => {
    emulator = await startEmulator();
    // The Google clients read these from the environment: point them at the emulator, no metadata server.
    process.env.PUBSUB_EMULATOR_HOST = emulator.host;
    process.env.METADATA_SERVER_DETECTION = "none";
    admin = new PubSub({ projectId: PROJECT });
    const [raw] = await admin.createTopic("raw-detections");
    const [dead] = await admin.createTopic("ingest-dead-letters");
    await raw.createSubscription("raw-check");
    await dead.createSubscription("dead-check");
    const config = loadConfig({ SINK: "pubsub", GOOGLE_CLOUD_PROJECT: PROJECT, AUTH_TOKENS: TOKEN, PORT: "0", HOST: "127.0.0.1", PUBLISH_TIMEOUT_MS: "3000" });
    service = await startService(config, { logger: createLogger("silent") });
  });

  afterAll(async () => {
    await service?.close();
    await admin?.close();
    await emulator?.stop();
    delete process.env.PUBSUB_EMULATOR_HOST;
  });

  const pull = (subscription: string, count: number) => pullMessages(admin, subscription, count);

  const post = (body: unknown) =>
    fetch(`${service.url}/v1/detections`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) });

  it("publishes one message per accepted event, exactly, and each rejected one to the dead-letter topic", async () => {
    const events = [
      { detection_oid: "9223372036854775807", video_camera_oid: 1, geographical_location_oid: 2, item_name: "Ünïcödé '; --", timestamp_detected: 1700000000000 },
      { detection_oid: 42, video_camera_oid: "9007199254740993", geographical_location_oid: 2, item_name: "car", timestamp_detected: 1700000000001 },
      { detection_oid: 43, video_camera_oid: 1, geographical_location_oid: 2, item_name: "", timestamp_detected: 1700000000002 },
    ];
    const response = await post(events);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ accepted: 2, rejected: 1 });

    const raw = await pull("raw-check", 2);
    const bodies = raw.map((m) => m.data.toString()).sort();
    expect(bodies).toEqual([
      '{"detection_oid":42,"video_camera_oid":9007199254740993,"geographical_location_oid":2,"item_name":"car","timestamp_detected":1700000000001}',
      '{"detection_oid":9223372036854775807,"video_camera_oid":1,"geographical_location_oid":2,"item_name":"Ünïcödé \'; --","timestamp_detected":1700000000000}',
    ]);
    for (const message of raw) expect(message.attributes).toEqual({ schema: "sightline.detection.v1", source: "sightline-ingest" });

    const dead = await pull("dead-check", 1);
    expect(JSON.parse(dead[0]!.data.toString())).toEqual(events[2]);
    expect(dead[0]!.attributes).toMatchObject({ reason: "item_name: must not be empty", index: "2" });
  });

  it("answers 503 with Retry-After when Pub/Sub is down, acknowledging nothing", async () => {
    await emulator.stop();
    const started = Date.now();
    const response = await post([{ detection_oid: 7, video_camera_oid: 1, geographical_location_oid: 2, item_name: "car", timestamp_detected: 1_700_000_000_000 }]);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await response.json()) as { error: string }).error).toMatch(/Pub\/Sub did not acknowledge the events/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
