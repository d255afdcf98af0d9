// Pulls messages back from the Pub/Sub emulator for the tests that check what was published.
import type { Message, PubSub } from "@google-cloud/pubsub";

/** The next `count` messages on the subscription, acknowledged; fails after 20 s with how many came. */
export async function pullMessages(client: PubSub, subscription: string, count: number): Promise<Message[]> {
  const messages: Message[] = [];
  const sub = client.subscription(subscription);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`pulled ${messages.length} of ${count} messages`)), 20_000);
      sub.on("message", (message: Message) => {
        messages.push(message);
        message.ack();
        if (messages.length >= count) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    await sub.close();
  }
  return messages;
}
