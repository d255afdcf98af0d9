// The CLI as a user runs it: a real process, a real DuckDB file, real Parquet files.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { datasetFile } from "../../runner/database.ts";

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, "../../cli/sightline.ts");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sightline-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function sightline(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Runs SQL on a scratch in-memory DuckDB, e.g. to write Parquet fixtures or read results back. */
async function scratch<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as T[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const q = (text: string) => `'${text.replace(/'/g, "''")}'`;

describe("sightline --help", () => {
  it.each(["transform", "load", "top", "serve", "sample", "demo"])("documents `%s`", async (command) => {
    const result = await sightline([command, "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: sightline ${command} \\[options\\]`));
    expect(result.stdout).toContain("--help");
  });

  it("lists every command", async () => {
    const result = await sightline(["--help"]);
    for (const command of ["transform", "load", "top", "serve", "sample", "demo"]) expect(result.stdout).toContain(command);
  });
});

describe("sightline load, transform and top", () => {
  let db: string;
  let events: string;

  beforeAll(async () => {
    db = path.join(dir, "warehouse", "w.duckdb");
    events = path.join(dir, "a.parquet");
    const locations = path.join(dir, "b.parquet");
    await scratch(`copy (select * from (values (1::bigint, 'Quay ''North'''), (2, 'Gare du Nord — hall 2'))
      v(geographical_location_oid, geographical_location)) to ${q(locations)} (format parquet)`);
    // Ids are decimal strings so one can exceed 2^53 exactly; three rows are bad on purpose.
    await scratch(`copy (select * from (values
        ('9007199254740993', '11', '1', 'car', '1700000000000'),
        ('9007199254740993', '11', '1', 'car', '1700000000000'),
        ('2', '11', '1', 'car', '1700000001000'),
        ('3', '12', '1', 'bicycle', '1700000002000'),
        ('4', '21', '2', 'café ☕ ''; --', '1700000003000'),
        ('5', '21', '3', 'dog', '1700000004000'),
        ('1.5', '21', '2', 'dog', '1700000005000'),
        ('6', '21', '2', '', '1700000006000'),
        ('7', '21', '2', repeat('x', 5001), '1700000007000')
      ) v(detection_oid, video_camera_oid, geographical_location_oid, item_name, timestamp_detected))
      to ${q(events)} (format parquet)`);
    const loaded = await sightline(["load", "--db", db, "--locations", locations, "--events", events]);
    expect(loaded.stderr).not.toMatch(/sightline:/);
    expect(loaded.code).toBe(0);
    expect(loaded.stdout).toContain("Dataset B: 2 locations loaded");
    expect(loaded.stdout).toContain("Dataset A: 6 events loaded");
    expect(loaded.stdout).toContain("3 rejected to the dead-letter table with their reasons");
  });

  it("keeps the good rows and sends each bad one to the dead letters with its reason", async () => {
    const raw = await scratch<{ detection_oid: string; item_name: string }>(
      `attach ${q(datasetFile(db, "detections_raw"))} as detections_raw (read_only); select detection_oid::varchar as detection_oid, item_name from detections_raw.raw_detection_events order by all`
    );
    expect(raw.map((r) => r.detection_oid)).toEqual(["2", "3", "4", "5", "9007199254740993", "9007199254740993"]);
    expect(raw.find((r) => r.detection_oid === "4")!.item_name).toBe("café ☕ '; --");
    const dead = await scratch<{ reason: string }>(
      `attach ${q(datasetFile(db, "detections_raw"))} as detections_raw (read_only); select attributes->>'reason' as reason from detections_raw.invalid_detection_events order by attributes->>'row'`
    );
    expect(dead.map((d) => d.reason).sort()).toEqual([
      "detection_oid must be an int64",
      "item_name is longer than 5,000 characters",
      "item_name is required (1 to 5,000 characters)",
    ]);
  });

  it("runs the models and prints the top items per location as CSV, JSON and Parquet", async () => {
    const transform = await sightline(["transform", "--db", db]);
    expect(transform.stderr).toBe("");
    expect(transform.code).toBe(0);
    expect(transform.stdout).toMatch(/run ok: \d+ actions .* (\d+)\/\1 assertions passed/);

    const csv = await sightline(["top", "--db", db, "--x", "1"]);
    expect(csv.stderr).toBe("");
    expect(csv.code).toBe(0);
    expect(csv.stdout.trim().split("\n")).toEqual([
      "geographical_location_oid,geographical_location,item_rank,item_name,item_count",
      `1,Quay 'North',1,car,2`,
      `2,Gare du Nord — hall 2,1,café ☕ '; --,1`,
      "3,,1,dog,1",
    ]);

    const json = await sightline(["top", "--db", db, "--x", "5", "--format", "json", "--no-refresh"]);
    const parsed = JSON.parse(json.stdout) as { geographical_location_oid: number; item_rank: number; item_name: string; item_count: number }[];
    expect(parsed.filter((r) => r.geographical_location_oid === 1).map((r) => [r.item_rank, r.item_name, r.item_count])).toEqual([[1, "car", 2], [2, "bicycle", 1]]);

    const file = path.join(dir, "top.parquet");
    const parquet = await sightline(["top", "--db", db, "--x", "5", "--format", "parquet", "--output", file, "--no-refresh"]);
    expect(parquet.stderr).toContain("4 rows written");
    expect(await scratch(`select count(*)::int as n, max(item_rank)::int as deepest from read_parquet(${q(file)})`)).toEqual([{ n: 4, deepest: 2 }]);
  });

  it("refuses a Dataset B with repeated ids and keeps the previous one", async () => {
    const bad = path.join(dir, "bad_b.parquet");
    await scratch(`copy (select * from (values (1::bigint, 'a'), (1, 'b')) v(geographical_location_oid, geographical_location)) to ${q(bad)} (format parquet)`);
    const result = await sightline(["load", "--db", db, "--locations", bad]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/is not loaded \(the previous Dataset B stays\): 1 repeated geographical_location_oid value/);
    const names = await readFile(path.join(path.dirname(db), "geographical_locations.parquet"));
    expect(names.length).toBeGreaterThan(0);
    const rows = await scratch(`select count(*)::int as n from read_parquet(${q(path.join(path.dirname(db), "geographical_locations.parquet"))})`);
    expect(rows).toEqual([{ n: 2 }]);
  });

  it("reads the database path from SIGHTLINE_DB and rejects a bad memory limit by name", async () => {
    const viaEnv = await sightline(["top", "--x", "1", "--no-refresh"], { SIGHTLINE_DB: db });
    expect(viaEnv.stdout).toContain("Quay 'North'");
    const badLimit = await sightline(["top", "--x", "1"], { SIGHTLINE_DB: db, SIGHTLINE_MEMORY_LIMIT: "lots" });
    expect(badLimit.code).not.toBe(0);
    expect(badLimit.stderr).toMatch(/SIGHTLINE_MEMORY_LIMIT: a size such as 3GB/);
  });

  it("rebuilds what is downstream when one model is fully refreshed, so nothing is counted twice", async () => {
    const partial = await sightline(["transform", "--db", db, "--full-refresh", "--actions", "detection_events"]);
    expect(partial.code).toBe(0);
    expect(partial.stdout).toMatch(/create\s+detections\.detection_counts_hourly/);
    const again = await sightline(["transform", "--db", db]);
    expect(again.stdout).toMatch(/ok\s+assertion\s+detections_assertions\.rollups_reconcile/);
    expect(again.code).toBe(0);
  });

  it("exits non-zero when an assertion fails and names the violating rows", async () => {
    // Bypass `load`'s checks to put a repeated location id where the model reads Dataset B.
    await scratch(`copy (select * from (values (1::bigint, 'a'), (1, 'b'), (2, 'c')) v(geographical_location_oid, geographical_location))
      to ${q(path.join(path.dirname(db), "geographical_locations.parquet"))} (format parquet)`);
    const result = await sightline(["transform", "--db", db]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/run FAILED/);
    expect(result.stderr).toMatch(/assertion detections_assertions\.geographical_locations_unique .* 1 row\(s\) violate it, e\.g\. \[\{"geographical_location_oid":1,"rows_with_this_oid":2\}\]/);
  });
});
