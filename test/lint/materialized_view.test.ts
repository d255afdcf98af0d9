import { describe, expect, it } from "vitest";
import { lintMaterializedViewQuery } from "../../lint/materialized_view.ts";

const tables = { growing: new Set(["raw.events"]), views: new Set(["d.stg"]) };
const lint = (sql: string) => lintMaterializedViewQuery(sql, tables).join("\n");
const legal = "select e.id, l.name, count(*) as n, min(e.ts) as first_ts from `p.raw.events` as e inner join `p.raw.locations` as l on e.loc = l.loc group by e.id, l.name";

describe("incremental materialized view rules", () => {
  it("accepts a grouped inner join over the growing table first", () => {
    expect(lint(legal)).toBe("");
  });

  it.each([
    ["select id, row_number() over (partition by id order by ts) from `p.raw.events`", /window function/],
    ["select id from `p.raw.events` where true qualify count(*) over () = 1", /QUALIFY/],
    ["select e.id from `p.raw.events` e left join `p.raw.locations` l on e.loc = l.loc", /LEFT JOIN/],
    ["select e.id from `p.raw.locations` l inner join `p.raw.events` e on e.loc = l.loc", /first table raw.locations is not a growing/],
    ["select id, current_timestamp() from `p.raw.events`", /not deterministic/],
    ["select id, array_agg(ts) from `p.raw.events` group by id", /array_agg\(\), which BigQuery does not maintain incrementally/],
    ["select id from `p.raw.events` union all select id from `p.raw.events`", /UNION/],
    ["select id, count(*) from `p.raw.events` group by id having count(*) > 1", /HAVING/],
    ["select id from (select id from `p.raw.events`)", /subquery after FROM/],
    ["with x as (select id from `p.raw.events`) select id from x", /WITH/],
    ["select id from `p.d.stg`", /a view: materialized views read tables/],
  ])("refuses %s", (sql, message) => {
    expect(lint(sql)).toMatch(message);
  });
});
