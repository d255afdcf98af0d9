// An acknowledged event is never lost, not even on kill -9: stream batches at `sightline serve`, kill
// it with SIGKILL mid-stream, and find every acknowledged detection in the raw table.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DuckdbSink, spoolRoot } from "../../ingest/sinks/duckdb.ts";
import { openDatabase } from "../../runner/database.ts";

const CLI = path.resolve(import.meta.dirname, "../../cli/sightline.ts");
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sightline-kill-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function missingFrom(db: string, acknowledged: number[]): Promise<number> {
  const reopened = await openDatabase(db);
  try {
    await reopened.connection.run("create temp table acked (id bigint)");
    const appender = await reopened.connection.createAppender("acked", "main", "temp");
    for (const id of acknowledged) {
      appender.appendBigInt(BigInt(id));
      appender.endRow();
    }
    appender.closeSync();
    const reader = await reopened.connection.runAndReadAll(
      "select count(*)::int as missing from acked where id not in (select detection_oid from detections_raw.raw_detection_events)"
    );
    return Number(reader.getRowObjectsJS()[0]!.missing);
  } finally {
    reopened.close();
  }
}

describe("the DuckDB sink under SIGKILL and SIGTERM", () => {
  it.each(["SIGKILL", "SIGTERM"] as const)("keeps every acknowledged event on %s", async (signal) => {
    const db = path.join(dir, `${signal}.duckdb`);
    const child = spawn(process.execPath, [CLI, "serve", "--db", db, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on("line", (line) => {
        const parsed = JSON.parse(line) as { url?: string };
        if (parsed.url) resolve(parsed.url);
      });
      child.once("exit", (code) => reject(new Error(`serve exited with ${code}`)));
    });

    const acknowledged: number[] = [];
    const statuses = new Set<number | string>();
    let next = 1;
    let stop = false;
    const client = async () => {
      while (!stop) {
        const ids = Array.from({ length: 200 }, () => next++);
        const body = JSON.stringify(ids.map((id) => ({ detection_oid: id, video_camera_oid: 1, geographical_location_oid: 2, item_name: "car", timestamp_detected: 1700000000000 })));
        try {
          const response = await fetch(`${url}/v1/detections`, { method: "POST", headers: { "content-type": "application/json" }, body });
          statuses.add(response.status);
          if (response.status === 202) acknowledged.push(...ids);
        } catch (error) {
          statuses.add(String((error as Error).cause ?? error));
          return; // the server is gone: whatever was not acknowledged may or may not be stored
        }
      }
    };
    const clients = [client(), client(), client(), client()];
    const deadline = Date.now() + 60_000;
    while (acknowledged.length < 20_000) {
      if (Date.now() > deadline) throw new Error(`only ${acknowledged.length} events acknowledged in 60 s; statuses: ${[...statuses].join(",")}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const signalled = Date.now();
    child.kill(signal);
    stop = true;
    const [code] = await Promise.all([exited, ...clients]);
    if (signal === "SIGTERM") {
      // Drained and closed well inside Cloud Run's 10 s.
      expect(code).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(10_000);
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(20_000);
    expect(await missingFrom(db, acknowledged)).toBe(0);
    if (signal === "SIGKILL") {
      // The killed sink's spool folder is left behind; the next sink to start removes it.
      const spool = readdirSync(spoolRoot()).filter((entry) => entry.startsWith(`sightline-sink-${child.pid}-`));
      expect(spool).toHaveLength(1);
      const reopened = await openDatabase(path.join(dir, "after.duckdb"));
      const sink = new DuckdbSink(await reopened.instance.connect(), { rawSchema: "detections_raw" });
      expect(existsSync(path.join(spoolRoot(), spool[0]!))).toBe(false);
      await sink.close();
      reopened.close();
    }
  });
});
