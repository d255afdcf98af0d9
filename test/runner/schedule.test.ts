// The local stack's model schedule: runs on a cadence without overlapping, logs each run where the
// dashboard reads it, survives an analytics engineer's broken SQLX and picks up the fix by itself.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureRunLog, RUN_LOG_TABLE } from "../../runner/run_log.ts";
import { ModelSchedule } from "../../runner/schedule.ts";
import { Transformer, type RunReport } from "../../runner/transform.ts";
import { copyProject, type ProjectCopy } from "../support/project_copy.ts";
import { createWarehouse, insertRawEvents, writeLocations, type TestWarehouse } from "../support/warehouse.ts";

let warehouse: TestWarehouse;
let project: ProjectCopy;
beforeAll(async () => {
  [warehouse, project] = await Promise.all([createWarehouse(), copyProject()]);
  await writeLocations(warehouse, [{ geographical_location_oid: 1n, geographical_location: "North gate" }]);
  await ensureRunLog(warehouse.db.connection);
});
afterAll(async () => {
  await warehouse.close();
  await project.remove();
});

function events(from: number, count: number) {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    message_id: `m${from + i}`,
    publish_time: new Date(now - 1000 + i),
    detection_oid: BigInt(from + i),
    video_camera_oid: 7n,
    geographical_location_oid: 1n,
    item_name: "bicycle",
    timestamp_detected: BigInt(now - 2000),
  }));
}

async function loggedRuns() {
  const reader = await warehouse.db.connection.runAndReadAll(
    `select ok, compiled, rows_changed, assertions_passed, assertions_failed, details::varchar as details, started_at, finished_at from ${RUN_LOG_TABLE} order by started_at`
  );
  return reader.getRowObjectsJS();
}

describe("the model schedule", () => {
  it("runs on its cadence without overlap, logs every run, and follows new raw rows", async () => {
    const transformer = new Transformer(warehouse.db, {}, project.dir);
    const reports: RunReport[] = [];
    let running = 0;
    let overlapped = false;
    const original = transformer.run.bind(transformer);
    transformer.run = async (options) => {
      if (++running > 1) overlapped = true;
      try {
        return await original(options);
      } finally {
        running--;
      }
    };
    const schedule = new ModelSchedule(transformer, { intervalMs: 200, onRun: (r) => reports.push(r) });
    await insertRawEvents(warehouse, events(1, 50));
    schedule.start();
    const first = await schedule.nextRun();
    expect(first.ok).toBe(true);
    await insertRawEvents(warehouse, events(1000, 20));
    const second = await schedule.nextRun();
    await schedule.stop();

    expect(overlapped).toBe(false);
    expect(second.actions.find((a) => a.name.endsWith(".detection_events"))!.rowsChanged).toBe(20);
    const runs = await loggedRuns();
    expect(runs.length).toBe(reports.length);
    expect(runs.every((r) => r.ok === true)).toBe(true);
    expect(runs[0]!.compiled).toBe(true);
    const secondLogged = runs[reports.indexOf(second)]!;
    expect(Number(secondLogged.assertions_failed)).toBe(0);
    expect(Number(secondLogged.assertions_passed)).toBe(second.actions.filter((a) => a.kind === "assertion").length);
    expect(JSON.parse(String(secondLogged.details)).find((d: { name: string }) => d.name.endsWith(".detection_events")).rows_changed).toBe(20);

    const count = await warehouse.db.connection.runAndReadAll("select count(*)::integer as n from detections.detection_events");
    expect(count.getRowObjectsJS()[0]!.n).toBe(70);
  });

  it("keeps going through a broken model, logs the failure, and recovers when the file is fixed", async () => {
    const transformer = new Transformer(warehouse.db, {}, project.dir);
    const errors: Error[] = [];
    const reports: RunReport[] = [];
    const schedule = new ModelSchedule(transformer, {
      intervalMs: 100,
      onError: (e) => errors.push(e),
      onRun: (r) => reports.push(r),
    });
    const model = path.join(project.dir, "definitions", "marts", "top_items_by_location.sqlx");
    const good = await readFile(model, "utf8");
    await writeFile(model, `${good}\n-- an edit in progress\nunion all select * from \${ref("no_such_model")}\n`);
    schedule.start();
    await expect.poll(() => errors.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    expect(errors[0]!.message).toMatch(/no_such_model/);

    // Every run so far failed to compile. The first one that succeeds after the fix (whichever run
    // happens to read the fixed file: it may be one already in progress) must be the one that compiled it.
    expect(reports.filter((r) => r.ok)).toEqual([]);
    await writeFile(model, good);
    await insertRawEvents(warehouse, events(5000, 5));
    await expect.poll(() => reports.some((r) => r.ok), { timeout: 30_000 }).toBe(true);
    await schedule.stop();
    const recovered = reports.find((r) => r.ok)!;
    expect(recovered.compiled).toBe(true);

    const runs = await loggedRuns();
    const failures = runs.filter((r) => r.ok === false);
    expect(failures.length).toBe(errors.length);
    expect(String(failures[0]!.details)).toContain("no_such_model");
    expect(runs.at(-1)!.ok).toBe(true);
  });
});
