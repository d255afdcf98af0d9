// Starts the real Pub/Sub emulator (Debian package google-cloud-cli-pubsub-emulator, Java 17) on a free
// loopback port, and stops it. `sightline up --pubsub-emulator` runs on it; tests that need it skip loudly where it is missing.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";

function findLauncher(): string | undefined {
  const known = "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator";
  if (existsSync(known)) return known;
  try {
    const files = execFileSync("dpkg", ["-L", "google-cloud-cli-pubsub-emulator"], { encoding: "utf8" });
    return files.split("\n").find((line) => line.endsWith("bin/cloud-pubsub-emulator"));
  } catch {
    return undefined;
  }
}

export const EMULATOR_LAUNCHER = findLauncher();

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Emulator {
  host: string;
  stop(): Promise<void>;
}

export async function startEmulator(port?: number): Promise<Emulator> {
  if (!EMULATOR_LAUNCHER) throw new Error("the Pub/Sub emulator is not installed (apt-get install google-cloud-cli-pubsub-emulator)");
  const chosen = port ?? (await freePort());
  // Its own process group, so stop() ends the launcher script and the JVM it starts.
  const child: ChildProcess = spawn(EMULATOR_LAUNCHER, [`--host=127.0.0.1`, `--port=${chosen}`], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const host = `127.0.0.1:${chosen}`;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the Pub/Sub emulator did not start within 60 s")), 60_000);
    const onData = (chunk: Buffer) => {
      if (String(chunk).includes("Server started")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`the Pub/Sub emulator exited with ${code}`)));
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    host,
    async stop() {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
      await exited;
    },
  };
}
