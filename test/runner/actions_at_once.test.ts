// When the model runner runs independent actions at once: only on an incremental run that follows a
// short one. A full refresh, the first run of a process and a run after a long one (a backlog caught
// up) run one action at a time, as their memory needs.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openDatabase, type Database } from "../../runner/database.ts";
import { PARALLEL_ACTIONS, Transformer } from "../../runner/transform.ts";

let dir: string;
let db: Database;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sightline-at-once-"));
  db = await openDatabase(path.join(dir, "w.duckdb"), { memoryLimit: "512MB" });
});
afterEach(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

// Nothing selected: the runs are quick and still decide how many connections they would use.
const nothing = { selection: { tags: ["never-selected"] } };

it("runs actions at once only after a short incremental run", async () => {
  const transformer = new Transformer(db);
  const widths: number[] = [];
  for (const options of [nothing, nothing, { ...nothing, fullRefresh: true }, nothing, nothing]) {
    widths.push((await transformer.run(options)).actionsAtOnce);
  }
  // First run: one at a time; after it, PARALLEL_ACTIONS; a full refresh and the run after it: one.
  expect(widths).toEqual([1, PARALLEL_ACTIONS, 1, 1, PARALLEL_ACTIONS]);
});

it("goes back to one at a time after a run longer than the bound", async () => {
  // Every run takes longer than a microsecond: each is followed by one at a time.
  const transformer = new Transformer(db, {}, undefined, { parallelAfterRunsUnderMs: 0.001 });
  const widths = [];
  for (let run = 0; run < 3; run++) widths.push((await transformer.run(nothing)).actionsAtOnce);
  expect(widths).toEqual([1, 1, 1]);
});
