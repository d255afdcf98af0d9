import { describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import { loadInclude } from "../support/includes.ts";

const lateIds = loadInclude<{ recentMin(ids: string, late: number, fallback: string): string }>("late_ids", {});

/** Evaluates recentMin over the given ids (with repeats) on DuckDB; the fallback is their minimum, as the models pass it. */
async function recentMin(ids: bigint[], late: number): Promise<string | null> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    await connection.run("create table copies (detection_oid bigint)");
    if (ids.length > 0) await connection.run(`insert into copies values ${ids.map((id) => `(${id})`).join(", ")}`);
    const sql = lateIds.recentMin("select detection_oid from copies", late, "(select min(detection_oid) from copies)");
    const value = (await connection.runAndReadAll(sql)).getRowsJS()[0]?.[0];
    return value === null || value === undefined ? null : String(value);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe("includes/late_ids.js", () => {
  it("sets the `late` smallest distinct ids aside: the recent part starts at the next one", async () => {
    // repeats count once: 1, 2, 5 are the three smallest distinct ids
    expect(await recentMin([9n, 1n, 5n, 1n, 2n, 7n, 2n, 8n], 3)).toBe("7");
    expect(await recentMin([9n, 1n, 5n, 1n, 2n, 7n, 2n, 8n], 1)).toBe("2");
  });

  it("puts every id in the recent part when there are no more than `late` of them", async () => {
    expect(await recentMin([4n, 3n, 3n], 2)).toBe("3");
    expect(await recentMin([4n, 3n, 3n], 5)).toBe("3");
  });

  it("carries int64 ids beyond 2^53 exactly, and gives NULL for an empty run", async () => {
    const top = 2n ** 63n - 1n;
    expect(await recentMin([-(2n ** 63n), 2n ** 53n + 1n, top], 2)).toBe(top.toString());
    expect(await recentMin([], 2)).toBeNull();
  });
});
