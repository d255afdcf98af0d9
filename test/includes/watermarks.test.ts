import { describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import { loadInclude } from "../support/includes.ts";

const watermarks = loadInclude<{ newest(column: string, table: string): string }>("watermarks", {});

async function newestOf(values: (string | null)[]): Promise<string | null> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    await connection.run("create table runs (last_loaded_at timestamp)");
    for (const value of values) await connection.run(`insert into runs values (${value === null ? "null" : `timestamp '${value}'`})`);
    const reader = await connection.runAndReadAll(`select cast(${watermarks.newest("last_loaded_at", "runs")} as varchar)`);
    return (reader.getRowsJS()[0]?.[0] as string | null) ?? null;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe("includes/watermarks.js", () => {
  it("gives the newest value, whatever the insertion order, and skips NULLs", async () => {
    expect(await newestOf(["2026-12-01 10:00:00", "2026-12-02 09:30:00", null, "2026-12-02 08:00:00"])).toBe("2026-12-02 09:30:00");
  });

  it("gives NULL for an empty table or one holding only NULLs", async () => {
    expect(await newestOf([])).toBeNull();
    expect(await newestOf([null, null])).toBeNull();
  });
});
