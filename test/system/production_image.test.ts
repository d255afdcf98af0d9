// What the Dockerfile ships, run as Cloud Run runs it: only ingest/ and the production dependencies
// (npm ci --omit=dev, from the lock file and npm's cache), started with the Dockerfile's CMD.
import { execFile, spawn } from "node:child_process";
import { cp, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imageCommand, imageNodeFlags } from "../../deploy/image_command.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sightline-image-"));
  for (const entry of ["package.json", "package-lock.json", "ingest"]) await cp(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  await run("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: dir });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the Cloud Run image's contents", () => {
  it("carry no DuckDB, Dataform or CLI packages", async () => {
    const scoped = await readdir(path.join(dir, "node_modules", "@google-cloud"));
    expect(scoped).toContain("pubsub");
    const top = await readdir(path.join(dir, "node_modules"));
    for (const dev of ["@duckdb", "@dataform", "commander", "vitest", "typescript"]) expect(top).not.toContain(dev);
  });

  it("are started with the Node flags that npm start and npm run sightline use too", async () => {
    // package.json cannot read the Dockerfile: the flags are written twice, and this keeps them equal.
    const { scripts } = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(imageNodeFlags().length).toBeGreaterThan(0);
    for (const name of ["start", "sightline"]) expect(scripts[name]).toMatch(new RegExp(`^node ${imageNodeFlags().join(" ")} cli/sightline\\.ts`));
  });

  it("start the service with the pubsub sink, answer /health and drain on SIGTERM", async () => {
    // Exactly the Dockerfile's CMD (its Node flags too), with this machine's node.
    const [program, ...args] = imageCommand();
    expect(program).toBe("node");
    expect(args.at(-1)).toBe("ingest/server.ts");
    const child = spawn(process.execPath, args, {
      cwd: dir,
      env: { PATH: process.env.PATH, PORT: "0", HOST: "127.0.0.1", GOOGLE_CLOUD_PROJECT: "p", AUTH_TOKENS: "t", METADATA_SERVER_DETECTION: "none", PUBSUB_EMULATOR_HOST: "127.0.0.1:9" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on("line", (line) => {
        const parsed = JSON.parse(line) as { url?: string; sink?: string };
        if (parsed.url) resolve(parsed.url);
      });
      void exited.then((code) => reject(new Error(`exited with ${code}`)));
    });
    expect(await (await fetch(`${url}/health`)).json()).toEqual({ status: "ok" });
    expect((await fetch(`${url}/v1/detections`, { method: "POST", body: "[]", headers: { "content-type": "application/json" } })).status).toBe(401);
    const started = Date.now();
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
