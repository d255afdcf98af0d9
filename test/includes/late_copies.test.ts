import { describe, expect, it } from "vitest";
import { DuckDBInstance } from "@duckdb/node-api";
import { loadInclude } from "../support/includes.ts";

type Sql = Record<string, (...args: never[]) => string>;
const sql = loadInclude<Sql>("sql", { warehouse: "duckdb" });
const lateCopies = loadInclude<{
  isLate(sql: Sql, seconds: number): string;
  settledIn(options: { late: string; after: string; until: string; resolvedAfter: string; resolvedUntil: string }): string;
  sweptIdsTable(name: string, lateRows: string): string;
  lookUpDeclarations(sql: Sql, options: { incremental: boolean; onTimeRows: string; sweptRows: string; sweptTable: string }): string;
  lookUp(options: { select: string; from: string; where: string; candidates: string; recent: [string, string]; swept: string; late: [string, string] }): string;
}>("late_copies", {});

/** Runs `query` against rows (id, publish_time, detected_at), given as seconds since an hour. */
async function rowsMatching(rows: [number, number, number][], query: (table: string) => string, setup: string[] = []): Promise<number[]> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const at = (s: number) => `timestamp '2026-12-02 10:00:00' + interval (${s}) second`;
    await connection.run("create table copies (detection_oid bigint, publish_time timestamp, detected_at timestamp)");
    await connection.run(`insert into copies values ${rows.map(([id, p, d]) => `(${id}, ${at(p)}, ${at(d)})`).join(", ")}`);
    for (const statement of setup) await connection.run(statement);
    const reader = await connection.runAndReadAll(`select detection_oid from (${query("copies")}) order by 1`);
    return reader.getRowsJS().map(([id]) => Number(id));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const at = (s: number) => `(timestamp '2026-12-02 10:00:00' + interval (${s}) second)`;

describe("includes/late_copies.js", () => {
  it("calls a row late when it was published more than the given seconds after its detection", async () => {
    const late = lateCopies.isLate(sql, 60);
    // published 60 s after (on time), 60.5 s after (late), before its detection (camera clock ahead)
    const ids = await rowsMatching([[1, 100, 40], [2, 100, 39.5], [3, 100, 101]], (t) => `select * from ${t} where ${late}`);
    expect(ids).toEqual([2]);
  });

  it("settles on-time rows in (after, until] and late rows in [resolvedAfter, resolvedUntil)", async () => {
    const settled = lateCopies.settledIn({ late: lateCopies.isLate(sql, 60), after: at(10), until: at(20), resolvedAfter: at(0), resolvedUntil: at(5) });
    const rows: [number, number, number][] = [
      [1, 10, 9], [2, 15, 14], [3, 20, 19], [4, 21, 20], // on time: 10 is before the window, 21 after it
      [5, -1, -100], [6, 0, -100], [7, 4.9, -100], [8, 5, -100], [9, 15, -100], // late
    ];
    expect(await rowsMatching(rows, (t) => `select * from ${t} where ${settled}`)).toEqual([2, 3, 6, 7]);
  });

  it("lets the scan skip rows before the on-time window when nothing is swept, and reach back when something is", async () => {
    const instance = await DuckDBInstance.create(":memory:");
    const connection = await instance.connect();
    try {
      await connection.run("create table copies (detection_oid bigint, publish_time timestamp, detected_at timestamp)");
      await connection.run(`insert into copies values (1, ${at(605)}, ${at(604)})`);
      // The storage filter on publish_time, as DuckDB pushes it into the scan (constants folded).
      const scanFilter = async (resolvedAfter: number, resolvedUntil: number) => {
        const settled = lateCopies.settledIn({ late: lateCopies.isLate(sql, 60), after: at(600), until: at(610), resolvedAfter: at(resolvedAfter), resolvedUntil: at(resolvedUntil) });
        const plan = (await connection.runAndReadAll(`explain (format json) select * from copies where ${settled}`)).getRowsJS()[0]![1];
        return String(plan).match(/publish_time>='([^']+)'/)?.[1];
      };
      expect(await scanFilter(300, 300)).toBe("2026-12-02 10:10:00");
      expect(await scanFilter(300, 600)).toBe("2026-12-02 10:05:00");
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it("looks the on-time candidates and the swept ids up in their own id ranges, each row found once", async () => {
    const lookUp = lateCopies.lookUp({
      select: "detection_oid", from: "copies", where: "true", candidates: "candidates",
      recent: ["100", "200"], swept: "swept_ids", late: ["1", "160"],
    });
    const swept = lateCopies.sweptIdsTable("swept_ids", "select * from (values (20), (150), (60), (20), (170)) as l(detection_oid)");
    const query = (t: string) => `with candidates as (
        select * from (values (150, false), (20, true), (300, false), (60, true)) as c(detection_oid, is_late)
      ) ${lookUp.replaceAll("from copies", `from ${t}`)}`;
    // 150 is found by both parts but listed once; 300 and 170 are outside their part's range; the
    // candidates' late ids (20, 60) only count through the swept ids
    expect(await rowsMatching([[20, 0, 0], [60, 0, 0], [150, 0, 0], [170, 0, 0], [300, 0, 0]], query, [swept])).toEqual([20, 60, 150]);
  });

  it("finds the two id ranges and the swept ids on an incremental run, and reads nothing on a full refresh", async () => {
    const options = {
      onTimeRows: "select detection_oid from copies where publish_time > detected_at",
      sweptRows: "select detection_oid from copies where publish_time = detected_at",
      sweptTable: "swept_ids",
    };
    // A full refresh looks nothing up: no pass over the copies for ranges nobody reads.
    expect(lateCopies.lookUpDeclarations(sql, { ...options, incremental: false })).toBe("");
    const declarations = lateCopies.lookUpDeclarations(sql, { ...options, incremental: true });
    // The four range ends, then the swept ids (+ 1000, to tell them apart).
    const ranges = () =>
      `select unnest([getvariable('v_recent_oid_min'), getvariable('v_recent_oid_max'), getvariable('v_late_oid_min'), getvariable('v_late_oid_max')]) as detection_oid
       union all select detection_oid + 1000 from swept_ids`;
    // on time: 7, 30, 12 (range 7 - 30); swept: 5, 41, 5 (range 5 - 41, ids 5 and 41 once each)
    const rows: [number, number, number][] = [[7, 10, 0], [30, 10, 0], [12, 10, 0], [5, 3, 3], [41, 3, 3], [5, 3, 3]];
    expect(await rowsMatching(rows, ranges, declarations.split(/;\s*\n/).filter((s) => s.trim()))).toEqual([5, 7, 30, 41, 1005, 1041]);
  });
});
