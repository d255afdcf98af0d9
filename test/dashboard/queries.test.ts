// The dashboard's queries against a real DuckDB file with the models built by the real runner: every
// figure equals what the raw copies imply, computed independently in TypeScript (fixture.ts); search
// text is taken literally; nothing fails before the first model run.
import type { DuckDBConnection } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  lastRun,
  locations,
  newestProcessedPublishTime,
  overview,
  quality,
  realtime,
  realtimeAt,
  topItems,
  topItemsOfBusiest,
  trend,
} from "../../dashboard/queries.ts";
import { recordFailure } from "../../runner/run_log.ts";
import { createWarehouse, type TestWarehouse } from "../support/warehouse.ts";
import { AWKWARD_NAMES, BIG_OID, buildFixture, expected, HOUR_MS, type Fixture } from "./fixture.ts";

describe("the dashboard's queries before the first model run", () => {
  let warehouse: TestWarehouse;
  let connection: DuckDBConnection;
  beforeAll(async () => {
    warehouse = await createWarehouse();
    connection = await warehouse.db.instance.connect();
  });
  afterAll(async () => {
    connection.closeSync();
    await warehouse.close();
  });

  it("return empty figures, not errors, while the models and the run log do not exist", async () => {
    const figures = await overview(connection);
    expect(figures.realtime).toEqual({ minutes: 5, total: 0, locations: [], locationCount: 0, newestPublishTime: null });
    expect(figures.hourly).toHaveLength(24);
    expect(figures.hourly.every((h) => h.detections === 0)).toBe(true);
    expect(figures.totals).toEqual({ last24h: 0, locations24h: 0 });
    expect(figures.quality.last24h).toMatchObject({ eventsReceived: 0, duplicateRate: null, invalidRate: null, lagP50Ms: null });
    expect(figures.freshness).toMatchObject({ seconds: null, realtimeSeconds: null, modelsSeconds: null });
    expect(figures.lastRun).toBeNull();
    expect(await locations(connection, { q: "x", offset: 50 })).toEqual({ total: 0, offset: 50, limit: 25, rows: [] });
    expect(await topItems(connection, 1n)).toEqual({ oid: 1, name: null, items: [] });
    expect(await topItemsOfBusiest(connection)).toEqual({ oid: null, name: null, items: [] });
    expect(await realtimeAt(connection, 1n)).toEqual({ oid: 1, minutes: 5, detections: 0 });
  });
});

describe("the dashboard's queries on known data", () => {
  let fixture: Fixture;
  let connection: DuckDBConnection;
  let want: ReturnType<typeof expected>;
  let at: { now: Date };

  beforeAll(async () => {
    fixture = await buildFixture();
    connection = await fixture.warehouse.db.instance.connect();
    want = expected(fixture);
    at = { now: fixture.at };
  });
  afterAll(async () => {
    connection?.closeSync();
    await fixture?.warehouse.close();
  });

  it("has a model run that passed, and data in every window", () => {
    expect(fixture.report.actions.filter((a) => a.status !== "ok").map((a) => `${a.name}: ${a.error}`)).toEqual([]);
    expect(want.realtime.total).toBeGreaterThan(200);
    expect(want.quality.lastHour.eventsReceived).toBeGreaterThan(100);
    expect(want.quality.last24h.duplicateCopies).toBeGreaterThan(100);
    expect(want.quality.last24h.conflictingDuplicates).toBeGreaterThan(10);
    expect(want.quality.last24h.unknownLocationEvents).toBeGreaterThan(10);
  });

  it("counts the last 5 minutes' detections per location, each detection once", async () => {
    const live = await realtime(connection, at);
    expect(live.total).toBe(want.realtime.total);
    expect(live.locations).toEqual(want.realtime.locations);
    expect(live.locations).toHaveLength(15);
    expect(live.locationCount).toBe(want.realtime.locationCount);
    expect(live.newestPublishTime).toBe(want.realtime.newestPublishTime);
    for (const location of [...fixture.locations.slice(0, 5), fixture.locations.at(-1)!]) {
      const oid = location.geographical_location_oid;
      expect((await realtimeAt(connection, oid, at)).detections, location.geographical_location).toBe(want.realtimeAt(oid));
    }
  });

  it("gives the hourly trend of the last 24 hours, empty hours as 0, and its totals", async () => {
    const figures = await trend(connection, at);
    expect(figures.hours).toEqual(want.hourly);
    expect(figures.total).toBe(want.totals.last24h);
    expect(figures.locations).toBe(want.totals.locations24h);
    // The fixture spans 26 hours: the window really cuts.
    expect(figures.total).toBeLessThan(new Set(fixture.copies.map((c) => c.detection_oid)).size);
  });

  it("adds up data quality over this hour and over 24 hours", async () => {
    const figures = await quality(connection, at);
    for (const window of ["lastHour", "last24h"] as const) {
      const { duplicateRate, invalidRate, ...counts } = want.quality[window];
      expect(figures[window], window).toMatchObject(counts);
      expect(figures[window].duplicateRate).toBeCloseTo(duplicateRate!, 12);
      expect(figures[window].invalidRate).toBeCloseTo(invalidRate!, 12);
    }
  });

  it("shows the event lag of the newest hour with detections, within the histogram's 5 %", async () => {
    const figures = await quality(connection, at);
    const day = figures.last24h;
    expect(day.lagHour).toBe(Math.floor(fixture.at.getTime() / HOUR_MS) * HOUR_MS);
    for (const [shown, p] of [[day.lagP50Ms, 0.5], [day.lagP95Ms, 0.95]] as const) {
      const exact = want.lagPercentile(day.lagHour!, p);
      // The model reports the upper bound of the ~5 %-wide bucket the percentile falls in (rounded to ms).
      expect(shown!).toBeGreaterThanOrEqual(Math.max(0, exact) - 1);
      expect(shown!).toBeLessThanOrEqual(Math.max(0, exact) * 1.052 + 1);
    }
    // Late detections (hours behind) make some hour's p95 far worse than the newest hour's.
    expect(day.worstLagP95Ms!).toBeGreaterThanOrEqual(day.lagP95Ms!);
    expect(figures.lastHour).toMatchObject({ lagHour: day.lagHour, lagP50Ms: day.lagP50Ms, lagP95Ms: day.lagP95Ms });
  });

  it("measures freshness from the newest publish_time the models show", async () => {
    expect(await newestProcessedPublishTime(connection, at)).toBe(want.newestProcessed);
    const figures = await overview(connection, at);
    const newest = Math.max(want.newestProcessed, want.realtime.newestPublishTime!);
    expect(figures.generatedAt).toBe(fixture.at.getTime());
    expect(figures.freshness.newestPublishTime).toBe(newest);
    expect(figures.freshness.seconds).toBeCloseTo((fixture.at.getTime() - newest) / 1000, 6);
    expect(figures.freshness.modelsSeconds).toBeCloseTo((fixture.at.getTime() - want.newestProcessed) / 1000, 6);
    expect(figures.freshness.realtimeSeconds).toBeCloseTo((fixture.at.getTime() - want.realtime.newestPublishTime!) / 1000, 6);
    expect(figures.totals).toEqual(want.totals);
  });

  it("lists the top items of a location, and of the busiest one", async () => {
    for (const location of fixture.locations) {
      const oid = location.geographical_location_oid;
      const top = await topItems(connection, oid);
      expect(top.items, location.geographical_location).toEqual(want.topItems(oid));
      if (top.items.length > 0) expect(top.name).toBe(location.geographical_location);
    }
    const far = await topItems(connection, BIG_OID);
    // Beyond 2^53 the id travels as its decimal string, never rounded.
    expect(far.oid).toBe("9007199254740993");
    expect(JSON.parse(JSON.stringify(far))).toEqual(far);
    expect(await topItems(connection, 424242n)).toEqual({ oid: 424242, name: null, items: [] });
    const busiest = await topItemsOfBusiest(connection, at);
    expect(busiest.oid).toBe(want.realtime.locations[0]!.oid);
    expect(busiest.items).toEqual(want.topItems(BigInt(busiest.oid!)));
  });

  it("pages through the locations table, busiest over 24 hours first", async () => {
    const first = await locations(connection, { limit: 25 }, at);
    expect(first.total).toBe(want.table.length);
    expect(first.rows).toEqual(want.table.slice(0, 25));
    const second = await locations(connection, { offset: 25, limit: 25 }, at);
    expect(second.rows).toEqual(want.table.slice(25, 50));
    expect(second.total).toBe(want.table.length);
    const past = await locations(connection, { offset: 1000, limit: 10 }, at);
    expect(past).toEqual({ total: want.table.length, offset: 1000, limit: 10, rows: [] });
    expect((await locations(connection, { limit: 5000 }, at)).rows).toHaveLength(Math.min(100, want.table.length));
    expect(want.table.some((r) => r.oid === "9007199254740993")).toBe(true);
  });

  it("searches location names as literal, case-insensitive text, never as SQL or a LIKE pattern", async () => {
    const search = async (q: string) => (await locations(connection, { q, limit: 100 }, at)).rows;
    expect(await search("lisbon")).toEqual(want.search("lisbon"));
    expect((await search("lisbon")).length).toBeGreaterThan(1);
    expect(await search("LISBON · HARBOUR")).toEqual(want.search("lisbon · harbour"));
    expect((await search("'; drop table x; --")).map((r) => r.name)).toEqual([AWKWARD_NAMES.injection]);
    expect((await search("' or 1=1 --")).map((r) => r.name)).toEqual([]);
    expect((await search("%")).map((r) => r.name)).toEqual([AWKWARD_NAMES.percent]);
    expect((await search("_")).map((r) => r.name)).toEqual([AWKWARD_NAMES.underscore]);
    expect((await search("o'brien")).map((r) => r.name)).toEqual([AWKWARD_NAMES.quote]);
    expect((await search("KRAKÓW")).map((r) => r.name)).toEqual([AWKWARD_NAMES.accented]);
    expect((await search("\\")).map((r) => r.name)).toEqual([]);
    expect((await search("")).length).toBe(Math.min(100, want.table.length));
    // The models are all still there.
    const reader = await connection.runAndReadAll("select count(*)::integer as n from detections.detection_events");
    expect(reader.getRowObjectsJS()[0]!.n).toBe(new Set(fixture.copies.map((c) => c.detection_oid)).size);
  });

  it("returns JSON-safe values only: numbers, strings, booleans, null", async () => {
    const figures = await overview(connection, at);
    const text = JSON.stringify(figures);
    expect(JSON.parse(text)).toEqual(figures);
    const kinds = new Set<string>();
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value !== null && typeof value === "object") Object.values(value).forEach(walk);
      else kinds.add(value === null ? "null" : typeof value);
    };
    walk(figures);
    walk(await locations(connection, {}, at));
    expect([...kinds].filter((kind) => !["boolean", "null", "number", "string"].includes(kind))).toEqual([]);
  });

  it("reads while a model run writes on the database's own connection", async () => {
    const run = fixture.warehouse.transformer.run();
    const reads = await Promise.all(Array.from({ length: 4 }, async () => (await overview(connection, at)).realtime.total));
    expect((await run).ok).toBe(true);
    expect(reads).toEqual([want.realtime.total, want.realtime.total, want.realtime.total, want.realtime.total]);
  });

  it("reports the last model run, and what failed in a failed one", async () => {
    const run = (await lastRun(connection))!;
    expect(run.ok).toBe(true);
    const assertions = fixture.report.actions.filter((a) => a.kind === "assertion");
    expect(run.assertionsPassed).toBe(assertions.length);
    expect(run.assertionsFailed).toBe(0);
    expect(run.failures).toEqual([]);

    const failedAt = new Date(Date.now() + 60_000);
    await recordFailure(fixture.warehouse.db.connection, failedAt, 1234, "definitions/marts/x.sqlx: syntax error");
    const failed = (await lastRun(connection))!;
    expect(failed).toMatchObject({ startedAt: failedAt.getTime(), finishedAt: failedAt.getTime() + 1234, durationMs: 1234, ok: false, compiled: false });
    expect(failed.failures).toEqual([{ name: "compile", kind: "compile", error: "definitions/marts/x.sqlx: syntax error" }]);
  });
});
