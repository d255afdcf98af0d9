// Running the graph again, or after a run that died midway, ends in the same tables as one clean run:
// a second run adds nothing; a run of only the first k models followed by a full run, for every k,
// leaves what the reference and a full refresh hold; and so does a `sightline transform` process
// killed with SIGKILL in the middle of its run.
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../runner/database.ts";
import { actionsInOrder } from "../../runner/graph.ts";
import { PROJECT_DIR } from "../../runner/compile.ts";
import { Transformer } from "../../runner/transform.ts";
import { referenceModels } from "../support/reference.ts";
import { createWarehouse, insertInvalidEvents, insertRawEvents, writeLocations, type InvalidEvent, type Location, type RawEvent, type TestWarehouse } from "../support/warehouse.ts";
import {
  DAY_MS,
  expectRunOk,
  MINUTE_MS,
  nextPublishTimes,
  readModels,
  resetWarehouse,
  sampleCopies,
  snapshotTables,
} from "./behaviour_support.ts";

const LOCATIONS: Location[] = [
  { geographical_location_oid: 1n, geographical_location: "Harbour gate" },
  { geographical_location_oid: 2n, geographical_location: "Depot" },
];

describe("idempotent runs", () => {
  let warehouse: TestWarehouse;
  let modelsInOrder: string[];
  beforeAll(async () => {
    warehouse = await createWarehouse();
    await writeLocations(warehouse, LOCATIONS);
    const { graph } = await warehouse.transformer.graph();
    modelsInOrder = actionsInOrder(graph)
      .filter((a) => a.kind !== "assertion")
      .map((a) => a.name);
  });
  afterAll(() => warehouse?.close());

  /** History over 6 days, with dead letters, loaded and run once. */
  async function loadHistory(seed: number): Promise<{ copies: RawEvent[]; invalid: InvalidEvent[]; endedAt: number }> {
    const now = Date.now();
    const copies = sampleCopies({ count: 60, from: now - 6 * DAY_MS, to: now - MINUTE_MS, seed, prefix: "h" });
    const invalid: InvalidEvent[] = [{ message_id: "dead-1", publish_time: new Date(now - DAY_MS), data: "{", reason: "not JSON" }];
    await insertRawEvents(warehouse, copies);
    await insertInvalidEvents(warehouse, invalid);
    expectRunOk(await warehouse.transformer.run());
    return { copies, invalid, endedAt: Date.now() };
  }

  /** New copies of a live stream for the next run: new detections, late copies and late detections. */
  async function liveBatch(endedAt: number, seed: number): Promise<RawEvent[]> {
    const times = await nextPublishTimes(endedAt, 30);
    const batch = sampleCopies({ count: 30, from: 0, to: 1, seed, prefix: `live${seed}-` });
    // sampled around the epoch: move them to now, keeping identical copies identical
    return batch.map((copy, i) => ({ ...copy, publish_time: times[i]!, timestamp_detected: copy.timestamp_detected + BigInt(times[0]!.getTime()) }));
  }

  it("a second run with no new rows changes nothing", async () => {
    await resetWarehouse(warehouse);
    const { copies, invalid } = await loadHistory(1);
    const once = await snapshotTables(warehouse);
    const report = await warehouse.transformer.run();
    expectRunOk(report);
    expect(report.actions.find((a) => a.name === "detections.detection_events")).toMatchObject({ mode: "insert", rowsChanged: 0 });
    expect(await snapshotTables(warehouse)).toEqual(once);
    expect(await readModels(warehouse)).toEqual(referenceModels({ copies, locations: LOCATIONS, invalid, now: report.startedAt }));
    expect(Object.keys(once)).toEqual(expect.arrayContaining(["detection_events", "int_detection_lags_bucketed", "int_items_counted_by_location"]));
  });

  it("a run that stopped after its first k models, then a full run, ends as one clean run, for every k", async () => {
    expect(modelsInOrder.length).toBeGreaterThan(5);
    for (let k = 1; k < modelsInOrder.length; k++) {
      await resetWarehouse(warehouse);
      const { copies, invalid, endedAt } = await loadHistory(100 + k);
      const batch = await liveBatch(endedAt, 200 + k);
      await insertRawEvents(warehouse, batch);
      copies.push(...batch);
      // the crashed run: its first k models ran (each in its own transaction), the rest did not
      const partial = await warehouse.transformer.run({ selection: { actions: modelsInOrder.slice(0, k), includeAssertions: false } });
      expect(partial.actions.map((a) => a.name)).toEqual(modelsInOrder.slice(0, k));
      expectRunOk(partial);
      const report = await warehouse.transformer.run();
      expectRunOk(report);
      const models = await readModels(warehouse);
      expect(models, `crash after ${modelsInOrder[k - 1]}`).toEqual(referenceModels({ copies, locations: LOCATIONS, invalid, now: report.startedAt }));
      const afterRecovery = await snapshotTables(warehouse);
      expectRunOk(await warehouse.transformer.run({ fullRefresh: true }));
      expect(afterRecovery, `crash after ${modelsInOrder[k - 1]}`).toEqual(await snapshotTables(warehouse));
    }
  });

  it("a `sightline transform` process killed with SIGKILL during each model and operation in turn: the next run ends as one clean run", async () => {
    const { graph } = await warehouse.transformer.graph();
    const everyAction = actionsInOrder(graph).map((a) => a.name);
    // Killed as soon as action k-1 reports done, i.e. while action k runs (or is about to start).
    // Every action that writes: assertions only read (and take milliseconds, so the run would end
    // before the signal lands).
    const writers = actionsInOrder(graph).filter((a) => a.kind !== "assertion").length;
    for (let k = 1; k < writers; k++) {
      await resetWarehouse(warehouse);
      const { copies, invalid, endedAt } = await loadHistory(300 + k);
      const batch = await liveBatch(endedAt, 400 + k);
      await insertRawEvents(warehouse, batch);
      copies.push(...batch);
      // The file is one process's at a time: hand it to the child, then take it back.
      warehouse.db.close();
      const output = await runUntilKilled(warehouse.dbPath, everyAction[k - 1]!);
      expect(output, `killed during ${everyAction[k]}`).not.toMatch(/^run ok/m);

      const db = await openDatabase(warehouse.dbPath, { memoryLimit: "1GB", threads: 2 });
      warehouse = { ...warehouse, db, transformer: new Transformer(db) };
      const report = await warehouse.transformer.run();
      expectRunOk(report);
      expect(await readModels(warehouse), `killed during ${everyAction[k]}`).toEqual(referenceModels({ copies, locations: LOCATIONS, invalid, now: report.startedAt }));
      const recovered = await snapshotTables(warehouse);
      expectRunOk(await warehouse.transformer.run({ fullRefresh: true }));
      expect(recovered, `killed during ${everyAction[k]}`).toEqual(await snapshotTables(warehouse));
    }
  });
});

/**
 * Runs `node cli/sightline.ts transform --db FILE` and SIGKILLs it (and the process group it leads)
 * as soon as it reports the given action done. Returns the output seen until then.
 */
function runUntilKilled(dbPath: string, killAfterAction: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(PROJECT_DIR, "cli", "sightline.ts"), "transform", "--db", dbPath, "--memory-limit", "1GB"], {
      cwd: PROJECT_DIR,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let killed = false;
    const timer = setTimeout(() => {
      if (!killed) kill();
      reject(new Error(`no "${killAfterAction}" line within 60 s:\n${output}`));
    }, 60_000);
    function kill() {
      killed = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (!killed && output.split("\n").some((line) => line.startsWith("ok") && line.includes(` ${killAfterAction} `))) kill();
    });
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (signal === "SIGKILL") resolve(output);
      else reject(new Error(`the transform finished before it was killed (exit ${code}):\n${output}`));
    });
  });
}
