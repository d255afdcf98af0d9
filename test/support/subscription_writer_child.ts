// A subscription writer in a process of its own, for crash tests: it stops at the commit and waits
// to be killed. Arguments: dbPath emulatorHost project subscription before|after.
import { PubSub } from "@google-cloud/pubsub";
import { openDatabase } from "../../runner/database.ts";
import { SubscriptionWriter } from "../../stack/subscription_writer.ts";

const [dbPath, emulatorHost, project, subscriptionName, stage] = process.argv.slice(2) as [string, string, string, string, "before" | "after"];
const db = await openDatabase(dbPath, { memoryLimit: "512MB" });
const client = new PubSub({ projectId: project, apiEndpoint: emulatorHost, emulatorMode: true });
const hold = async (messages: number) => {
  process.stdout.write(`holding ${messages}\n`);
  await new Promise(() => undefined);
};
const writer = new SubscriptionWriter(client.subscription(subscriptionName), await db.instance.connect(), {
  rawSchema: "detections_raw",
  subscriptionName,
  maxDelayMs: 500,
  ...(stage === "before" ? { beforeCommit: hold } : { afterCommit: hold }),
});
writer.start();
process.stdout.write("ready\n");
