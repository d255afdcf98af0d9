// `sightline up --pubsub-emulator`'s stand-in for the BigQuery subscription, on the real emulator:
// service → Pub/Sub → writer → raw table, exactly and completely; acknowledged only after the commit,
// so a writer killed before its commit loses nothing and one killed after it leaves copies, not gaps.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PubSub } from "@google-cloud/pubsub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../ingest/config.ts";
import { createLogger } from "../../ingest/logging.ts";
import { startService, type Service } from "../../ingest/service.ts";
import { openDatabase, type Database } from "../../runner/database.ts";
import { ensureRawTables } from "../../runner/raw_tables.ts";
import { EMULATOR_LAUNCHER, startEmulator, type Emulator } from "../../stack/pubsub_emulator.ts";
import { RAW_TOPIC, startPubsubStack, type PubsubStack } from "../../stack/pubsub_setup.ts";

if (!EMULATOR_LAUNCHER) console.warn("\n*** SKIPPING the subscription writer tests: google-cloud-cli-pubsub-emulator is not installed ***\n");

const PROJECT = "sightline-writer-test";
const TOKEN = "writer-test-token";
const CHILD = path.join(import.meta.dirname, "..", "support", "subscription_writer_child.ts");

describe.skipIf(!EMULATOR_LAUNCHER)("the subscription writer on the Pub/Sub emulator", () => {
  let emulator: Emulator;
  let dir: string;
  let admin: PubSub;

  beforeAll(async () => {
    emulator = await startEmulator();
    process.env.PUBSUB_EMULATOR_HOST = emulator.host;
    process.env.METADATA_SERVER_DETECTION = "none";
    dir = await mkdtemp(path.join(tmpdir(), "sightline-writer-"));
    admin = new PubSub({ projectId: PROJECT, apiEndpoint: emulator.host, emulatorMode: true });
  });
  afterAll(async () => {
    await admin?.close();
    await emulator?.stop();
    delete process.env.PUBSUB_EMULATOR_HOST;
    await rm(dir, { recursive: true, force: true });
  });

  async function rawRows(db: Database, where = "true") {
    const reader = await db.connection.runAndReadAll(
      `select detection_oid::varchar as id, video_camera_oid::varchar as camera, item_name, message_id, subscription_name, publish_time, attributes::varchar as attributes
       from detections_raw.raw_detection_events where ${where} order by detection_oid, message_id`
    );
    return reader.getRowObjectsJS();
  }

  describe("behind the ingest service", () => {
    let db: Database;
    let stack: PubsubStack;
    let service: Service;
    beforeAll(async () => {
      db = await openDatabase(path.join(dir, "stack.duckdb"), { memoryLimit: "512MB" });
      await ensureRawTables(db.connection, "detections_raw");
      stack = await startPubsubStack({ db, rawSchema: "detections_raw", projectId: PROJECT, emulatorHost: emulator.host });
      const config = loadConfig({ SINK: "pubsub", AUTH_TOKENS: TOKEN, PORT: "0", HOST: "127.0.0.1", ...stack.env });
      service = await startService(config, { database: db, logger: createLogger("silent") });
    });
    afterAll(async () => {
      await service?.close();
      await stack?.stop();
      db?.close();
    });

    it("writes every acknowledged event once, with the subscription's metadata and exact int64 values", async () => {
      const events = [
        ...Array.from({ length: 300 }, (_, i) => ({ detection_oid: 1000 + i, video_camera_oid: 7, geographical_location_oid: 3, item_name: "car", timestamp_detected: 1_700_000_000_000 })),
        { detection_oid: "9223372036854775807", video_camera_oid: "9007199254740993", geographical_location_oid: 3, item_name: "vélo 🚲 '; drop table x; --", timestamp_detected: 1_700_000_000_000 },
        { detection_oid: 5, item_name: "missing fields" },
      ];
      const response = await fetch(`${service.url}/v1/detections`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(events) });
      expect(response.status).toBe(202);
      expect(await response.json()).toMatchObject({ accepted: 301, rejected: 1 });

      await expect.poll(async () => (await rawRows(db)).length, { timeout: 20_000 }).toBe(301);
      const rows = await rawRows(db);
      expect(new Set(rows.map((r) => r.id)).size).toBe(301);
      expect(new Set(rows.map((r) => r.message_id)).size).toBe(301);
      const big = rows.find((r) => r.id === "9223372036854775807")!;
      expect(big.camera).toBe("9007199254740993");
      expect(big.item_name).toBe("vélo 🚲 '; drop table x; --");
      expect(big.subscription_name).toBe(`projects/${PROJECT}/subscriptions/raw-detections-bigquery`);
      expect(JSON.parse(String(big.attributes))).toMatchObject({ source: "sightline-ingest" });
      expect(Math.abs((big.publish_time as Date).getTime() - Date.now())).toBeLessThan(60_000);
      expect(stack.writer.stats().rows).toBe(301);
    });

    it("sends a message that does not fit the table to the dead-letter table and writes its neighbours", async () => {
      const topic = admin.topic(RAW_TOPIC);
      await Promise.all([
        topic.publishMessage({ data: Buffer.from("not json at all") }),
        topic.publishMessage({ data: Buffer.from('{"detection_oid": 1.5, "video_camera_oid": 1, "geographical_location_oid": 1, "item_name": "car", "timestamp_detected": 1}') }),
        topic.publishMessage({ data: Buffer.from('{"detection_oid": 77, "video_camera_oid": 1, "geographical_location_oid": 1, "item_name": 42, "timestamp_detected": 1}') }),
        topic.publishMessage({ data: Buffer.from('{"detection_oid": 78, "video_camera_oid": 1, "geographical_location_oid": 1, "item_name": "bus", "timestamp_detected": 1, "extra": true}') }),
      ]);
      await expect.poll(async () => (await db.connection.runAndReadAll("select count(*)::integer as n from detections_raw.invalid_detection_events")).getRowObjectsJS()[0]!.n, { timeout: 20_000 }).toBe(3);
      const invalid = (await db.connection.runAndReadAll("select data from detections_raw.invalid_detection_events order by data")).getRowObjectsJS().map((r) => r.data);
      expect(invalid).toHaveLength(3);
      expect(invalid).toEqual(expect.arrayContaining([expect.stringContaining('"detection_oid": 1.5'), expect.stringContaining('"item_name": 42'), "not json at all"]));
      await expect.poll(async () => (await rawRows(db, "detection_oid = 78")).map((r) => r.item_name), { timeout: 20_000 }).toEqual(["bus"]);
    });

    it("acknowledges what it holds before it closes: a writer started after a clean stop gets no redelivery", async () => {
      const { SubscriptionWriter } = await import("../../stack/subscription_writer.ts");
      const [topic] = await admin.createTopic("clean-close-topic");
      await topic.createSubscription("clean-close", { ackDeadlineSeconds: 60 });
      // A long batch delay, so the writer still holds the messages when it is told to close.
      const holding = new SubscriptionWriter(admin.subscription("clean-close"), await db.instance.connect(), { rawSchema: "detections_raw", subscriptionName: "clean-close", maxDelayMs: 5_000 });
      holding.start();
      await Promise.all(Array.from({ length: 20 }, (_, i) => topic.publishMessage({ data: Buffer.from(JSON.stringify({ detection_oid: 70_000 + i, video_camera_oid: 1, geographical_location_oid: 1, item_name: "van", timestamp_detected: 1_700_000_000_000 })) })));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(holding.stats().rows).toBe(0);
      await holding.close();
      expect(holding.stats().rows).toBe(20);
      const next = new SubscriptionWriter(admin.subscription("clean-close"), await db.instance.connect(), { rawSchema: "detections_raw", subscriptionName: "clean-close" });
      next.start();
      // A nacked or unacknowledged message would come back at once; give it a few seconds.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      await next.close();
      expect(next.stats().rows).toBe(0);
    });
  });

  describe("killed around its commit", () => {
    const dbPath = () => path.join(dir, "crash.duckdb");

    async function runChild(subscription: string, stage: "before" | "after", publish: () => Promise<void>): Promise<void> {
      const child: ChildProcess = spawn(process.execPath, [CHILD, dbPath(), emulator.host, PROJECT, subscription, stage], { stdio: ["ignore", "pipe", "inherit"], env: process.env });
      const exited = new Promise((resolve) => child.once("exit", resolve));
      let output = "";
      child.stdout!.on("data", (chunk) => (output += chunk));
      await expect.poll(() => output, { timeout: 30_000 }).toContain("ready");
      await publish();
      await expect.poll(() => output, { timeout: 30_000 }).toContain("holding");
      child.kill("SIGKILL");
      await exited;
    }

    async function drain(subscription: string, expected: number): Promise<Record<string, unknown>[]> {
      const db = await openDatabase(dbPath(), { memoryLimit: "512MB" });
      try {
        const { SubscriptionWriter } = await import("../../stack/subscription_writer.ts");
        const writer = new SubscriptionWriter(admin.subscription(subscription), await db.instance.connect(), { rawSchema: "detections_raw", subscriptionName: subscription });
        writer.start();
        // Redelivered once the 10 s ack deadline of the killed writer's lease runs out: ~11 s on a quiet
        // machine, but over 40 s was seen with the whole suite running beside the emulator.
        await expect.poll(async () => (await rawRows(db, `subscription_name = '${subscription}'`)).length, { timeout: 100_000, interval: 500 }).toBe(expected);
        await writer.close();
        return await rawRows(db, `subscription_name = '${subscription}'`);
      } finally {
        db.close();
      }
    }

    async function setUp(subscription: string): Promise<(ids: number[]) => Promise<void>> {
      const db = await openDatabase(dbPath(), { memoryLimit: "512MB" });
      await ensureRawTables(db.connection, "detections_raw");
      db.close();
      const [topic] = await admin.createTopic(`${subscription}-topic`);
      await topic.createSubscription(subscription, { ackDeadlineSeconds: 10 });
      return async (ids) => {
        await Promise.all(ids.map((id) => topic.publishMessage({ data: Buffer.from(JSON.stringify({ detection_oid: id, video_camera_oid: 1, geographical_location_oid: 1, item_name: "dog", timestamp_detected: 1 })) })));
      };
    }

    it("before the commit: nothing was written or acknowledged, and every message arrives after the restart", async () => {
      const publish = await setUp("crash-before-commit");
      const ids = Array.from({ length: 50 }, (_, i) => 10_000 + i);
      await runChild("crash-before-commit", "before", () => publish(ids));
      const rows = await drain("crash-before-commit", 50);
      expect(rows.map((r) => Number(r.id))).toEqual(ids);
    }, 200_000);

    it("after the commit but before the acknowledgement: the redelivery adds copies, never a gap", async () => {
      const publish = await setUp("crash-after-commit");
      const ids = Array.from({ length: 40 }, (_, i) => 20_000 + i);
      await runChild("crash-after-commit", "after", () => publish(ids));
      const rows = await drain("crash-after-commit", 80);
      // Each detection twice, under the same message id: a redelivery, removed by the models' dedup.
      expect(rows.map((r) => Number(r.id))).toEqual(ids.flatMap((id) => [id, id]));
      for (let i = 0; i < rows.length; i += 2) expect(rows[i]!.message_id).toBe(rows[i + 1]!.message_id);
    }, 200_000);
  });
});
