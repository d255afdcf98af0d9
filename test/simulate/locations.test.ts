// Generated Dataset B, read back with DuckDB: unique oids 1..N, unique readable names, the same file
// for the same seed.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, sqlString, type Database } from "../../runner/database.ts";
import { isKnownLocation, LOCATION_COUNT, STREETS, writeLocations } from "../../simulate/locations.ts";

let dir: string;
let db: Database;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sightline-locations-"));
  db = await openDatabase(":memory:");
});
afterAll(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

async function rows(file: string) {
  const reader = await db.connection.runAndReadAll(`select geographical_location_oid as oid, geographical_location as name from read_parquet(${sqlString(file)}) order by oid`);
  return reader.getRowObjectsJS().map((r) => ({ oid: r.oid as bigint, name: r.name as string }));
}

describe("generated Dataset B", () => {
  it("has 10,000 locations with unique oids 1..10,000 and unique, readable names", async () => {
    const file = path.join(dir, "default.parquet");
    expect(await writeLocations(db.connection, file)).toBe(LOCATION_COUNT);
    const types = await db.connection.runAndReadAll(`select column_name, column_type from (describe select * from read_parquet(${sqlString(file)}))`);
    expect(types.getRowsJS()).toEqual([
      ["geographical_location_oid", "BIGINT"],
      ["geographical_location", "VARCHAR"],
    ]);
    const all = await rows(file);
    expect(all.map((r) => r.oid)).toEqual(Array.from({ length: 10_000 }, (_, i) => BigInt(i + 1)));
    expect(new Set(all.map((r) => r.name)).size).toBe(10_000);
    const known = new Map(Object.entries(STREETS));
    for (const { name } of all) {
      // "City · Street Number", a real street of that city, within Dataset B's 500 characters.
      const match = /^(.+) · (.+) (\d+)$/.exec(name);
      expect(match, name).not.toBeNull();
      expect(known.get(match![1]!), name).toContain(match![2]);
      expect(name.length).toBeLessThanOrEqual(500);
    }
    // Spread over the cities, not a few of them.
    const cities = new Set(all.map((r) => r.name.split(" · ")[0]));
    expect(cities.size).toBe(known.size);
  });

  it("is the same file for the same seed and another for another seed, at any size", async () => {
    const [a, b, c] = ["a", "b", "c"].map((name) => path.join(dir, `${name}.parquet`));
    await writeLocations(db.connection, a!, 2_000, 7);
    await writeLocations(db.connection, b!, 2_000, 7);
    await writeLocations(db.connection, c!, 2_000, 8);
    const [ra, rb, rc] = [await rows(a!), await rows(b!), await rows(c!)];
    expect(ra).toEqual(rb);
    const same = ra.filter((row, i) => rc[i]!.name === row.name).length;
    expect(same).toBeLessThan(20);
    // Small files (the crash tests use 50) and large ones (more addresses than the default numbering holds).
    await writeLocations(db.connection, a!, 50);
    expect((await rows(a!)).length).toBe(50);
    await writeLocations(db.connection, a!, 100_000, 3);
    const large = await db.connection.runAndReadAll(`select count(*)::integer, count(distinct geographical_location)::integer, max(geographical_location_oid)::integer from read_parquet(${sqlString(a!)})`);
    expect(large.getRowsJS()).toEqual([[100_000, 100_000, 100_000]]);
  });

  it("refuses sizes it cannot name", async () => {
    await expect(writeLocations(db.connection, path.join(dir, "x.parquet"), 0)).rejects.toThrow(/count must be/);
    await expect(writeLocations(db.connection, path.join(dir, "x.parquet"), 10, -1)).rejects.toThrow(/seed must be/);
  });

  it("tells known location oids from others", () => {
    expect([1, 10_000, 5_000n].map((oid) => isKnownLocation(oid))).toEqual([true, true, true]);
    expect([0, 10_001, 900_000, 1.5, -3].map((oid) => isKnownLocation(oid))).toEqual([false, false, false, false, false]);
    expect(isKnownLocation(60, 50)).toBe(false);
  });
});
