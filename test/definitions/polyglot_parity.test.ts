// The BigQuery SQL, translated to DuckDB with @polyglot-sql/sdk, gives the same tables as the DuckDB
// compile on the same fixture: the two dialects of every model compute the same thing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileProject } from "../../runner/compile.ts";
import type { CompiledGraph } from "../../runner/graph.ts";
import { localVars } from "../../runner/transform.ts";
import { runTranslated, translate, initPolyglot } from "../support/polyglot.ts";
import { createWarehouse, insertInvalidEvents, insertRawEvents, writeLocations, type Location, type RawEvent, type TestWarehouse } from "../support/warehouse.ts";
import { DAY_MS, expectRunOk, readModels, sampleCopies, snapshotTables } from "./behaviour_support.ts";

const locations: Location[] = [
  { geographical_location_oid: 1n, geographical_location: "Quai d'Orsay — Nord" },
  { geographical_location_oid: 2n, geographical_location: "東京駅" },
];

let viaDuckdb: TestWarehouse;
let viaBigquery: TestWarehouse;
let bigquery: CompiledGraph;
let operations: CompiledGraph;

beforeAll(async () => {
  // Late copies wait for their slot, as in a large table (hour-long slots, so whether a run sweeps
  // depends on the rows, not on the moment each compile runs): the fixtures' runs take both parts of
  // the collision checks, and the last one leaves late copies of this hour waiting.
  const lateIds = { late_sweep_min_rows: "0", late_sweep_seconds: "3600" };
  [viaDuckdb, viaBigquery] = await Promise.all([createWarehouse(lateIds), createWarehouse(lateIds)]);
  for (const w of [viaDuckdb, viaBigquery]) await writeLocations(w, locations);
  // Same vars as the local compile, but the BigQuery dialect.
  const { warehouse: _dialect, ...vars } = localVars(viaBigquery.dbPath, lateIds);
  [bigquery, operations] = await Promise.all([compileProject(vars), compileProject(localVars(viaBigquery.dbPath, lateIds)), viaDuckdb.transformer.graph(), initPolyglot()]);
});
afterAll(async () => {
  await Promise.all([viaDuckdb?.close(), viaBigquery?.close()]);
});

async function both(copies: RawEvent[]) {
  for (const w of [viaDuckdb, viaBigquery]) await insertRawEvents(w, copies);
  expectRunOk(await viaDuckdb.transformer.run({ selection: { includeAssertions: false } }));
  await runTranslated(viaBigquery.db.connection, bigquery, operations);
}

describe("BigQuery SQL translated by polyglot, against the DuckDB compile", () => {
  it("translates the dialect helpers' BigQuery functions to their DuckDB meaning", () => {
    expect(translate("select TIMESTAMP_MILLIS(t), TIMESTAMP_TRUNC(ts, HOUR) from `p.d.t`")).toBe("SELECT EPOCH_MS(t), DATE_TRUNC('HOUR', ts) FROM d.t");
    expect(() => translate("select REGEXP_CONTAINS(a, 'x')")).toThrow(/known to mistranslate/);
  });

  it("gives the same tables over a first run and two incremental runs", async () => {
    const now = Date.now();
    await both(sampleCopies({ count: 60, from: now - 6 * DAY_MS, to: now - 3 * DAY_MS, seed: 7, prefix: "a" }));
    await both(sampleCopies({ count: 40, from: now - 3 * DAY_MS + 1, to: now - 60_000, seed: 8, prefix: "b" }));
    await insertInvalidEvents(viaDuckdb, [{ message_id: "bad-1", publish_time: new Date(now - 30_000), data: "{}", reason: "detection_oid: is required" }]);
    await insertInvalidEvents(viaBigquery, [{ message_id: "bad-1", publish_time: new Date(now - 30_000), data: "{}", reason: "detection_oid: is required" }]);
    await both(sampleCopies({ count: 30, from: now - 50_000, to: now - 20_000, seed: 9, prefix: "c" }));

    const models = await readModels(viaDuckdb);
    expect(models.detection_events.length).toBeGreaterThan(5);
    expect(models.pipeline_quality_hourly.length).toBeGreaterThan(1);
    expect(await readModels(viaBigquery)).toEqual(models);
    expect(await snapshotTables(viaBigquery)).toEqual(await snapshotTables(viaDuckdb));
  });
});
