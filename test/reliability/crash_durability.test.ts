// kill -9 at random moments, 20 times over, on one database: after every restart each acknowledged
// detection is in the raw table, and after a model run each is in detection_events exactly once —
// copies re-sent across the crashes included. Zero lost, zero doubled.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../runner/database.ts";
import { Transformer } from "../../runner/transform.ts";
import { writeLocations } from "../../simulate/locations.ts";
import { Random } from "../../simulate/random.ts";
import { startServe } from "../support/processes.ts";

const ROUNDS = 20;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sightline-crash-"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function idsIn(dbPath: string, sql: string): Promise<Map<number, number>> {
  const db = await openDatabase(dbPath, { memoryLimit: "1GB" });
  try {
    const reader = await db.connection.runAndReadAll(sql);
    return new Map(reader.getRowObjectsJS().map((r) => [Number(r.id), Number(r.n)]));
  } finally {
    db.close();
  }
}

describe("crash durability", () => {
  it(`loses and doubles nothing acknowledged across ${ROUNDS} SIGKILLs at random moments`, async () => {
    const dbPath = path.join(dir, "sightline.duckdb");
    const random = new Random(20261124);
    const acknowledged = new Set<number>();
    /** The same ids in acknowledgement order, to re-send copies of recent ones without copying the set. */
    const ackedInOrder: number[] = [];
    let next = 1;
    const event = (id: number) => ({ detection_oid: id, video_camera_oid: 10 + (id % 3), geographical_location_oid: 1 + (id % 50), item_name: ["car", "bus", "dog"][id % 3], timestamp_detected: Date.now() - 1000 });

    for (let round = 0; round < ROUNDS; round++) {
      const service = await startServe(dbPath);
      const url = service.url;
      let stop = false;
      let acknowledgedThisRound = 0;
      const client = async () => {
        while (!stop) {
          // New detections, and copies of acknowledged ones from earlier rounds (a camera re-sending).
          const recent = Math.min(ackedInOrder.length, 5_000);
          const ids = Array.from({ length: 100 }, () => (recent > 0 && random.chance(0.2) ? ackedInOrder[ackedInOrder.length - 1 - random.below(recent)]! : next++));
          try {
            const response = await fetch(`${url}/v1/detections`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ids.map(event)) });
            if (response.status === 202) {
              for (const id of ids) {
                if (acknowledged.has(id)) continue;
                acknowledged.add(id);
                ackedInOrder.push(id);
              }
              acknowledgedThisRound += ids.length;
            }
          } catch {
            return; // killed: what was not acknowledged may or may not have been stored
          }
        }
      };
      const clients = [client(), client(), client(), client()];
      // A random moment: between 50 ms and 1.5 s into the stream.
      await new Promise((resolve) => setTimeout(resolve, 50 + random.below(1_450)));
      const killed = service.stop("SIGKILL");
      stop = true;
      await Promise.all([killed, ...clients]);
      expect(acknowledgedThisRound, `round ${round}`).toBeGreaterThan(0);

      const raw = await idsIn(dbPath, "select detection_oid::bigint as id, count(*) as n from detections_raw.raw_detection_events group by 1");
      const missing = [...acknowledged].filter((id) => !raw.has(id));
      expect(missing, `round ${round}: acknowledged but not in the raw table`).toEqual([]);
    }

    // Then the models: each acknowledged detection once in detection_events.
    const db = await openDatabase(dbPath, { memoryLimit: "1GB" });
    try {
      await writeLocations(db.connection, path.join(dir, "geographical_locations.parquet"), 50);
      const report = await new Transformer(db).run();
      expect(report.ok, JSON.stringify(report.actions.filter((a) => a.status !== "ok"))).toBe(true);
    } finally {
      db.close();
    }
    const processed = await idsIn(dbPath, "select detection_oid::bigint as id, count(*) as n from detections.detection_events group by 1");
    expect([...processed.values()].filter((n) => n !== 1)).toEqual([]);
    expect([...acknowledged].filter((id) => !processed.has(id))).toEqual([]);
    const raw = await idsIn(dbPath, "select detection_oid::bigint as id, count(*) as n from detections_raw.raw_detection_events group by 1");
    // Copies did reach the raw table, and nothing the raw table holds is missing from the model.
    expect([...raw.values()].some((n) => n > 1)).toBe(true);
    expect(processed.size).toBe(raw.size);
  });
});
