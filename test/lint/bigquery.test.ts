import { describe, expect, it } from "vitest";
import { lintStatement } from "../../lint/bigquery.ts";

const datasets = new Set(["detections", "detections_raw"]);
const lint = (sql: string) => lintStatement({ action: "a", fileName: "f.sqlx", purpose: "test", sql }, datasets);

describe("BigQuery statement checks", () => {
  it("passes valid BigQuery: a DECLARE script, a MERGE, arrays and timestamps", () => {
    expect(
      lint(`DECLARE lo TIMESTAMP DEFAULT (select max(publish_time) from \`p.detections.t\`);
        merge \`p.detections.t\` D using (select TIMESTAMP_TRUNC(ts, HOUR) as h, ARRAY_AGG(DISTINCT c ORDER BY c) as cs from \`p.detections_raw.r\` where ts > lo group by 1) S
        on D.h = S.h when matched then update set \`cs\` = S.cs when not matched then insert (\`h\`, \`cs\`) values (\`h\`, \`cs\`)`)
    ).toEqual([]);
  });

  it.each([
    ["select from where", /does not parse as BigQuery SQL/],
    ["select x::int64 from `p.detections.t`", /'::' cast/],
    ['select a from "detections"."t"', /double-quoted identifier/],
    ["SET VARIABLE lo = 1; select 1", /SET VARIABLE/],
    ["select getvariable('lo')", /getvariable\(\), which is DuckDB's/],
    ["select epoch_ms(1)", /epoch_ms\(\), which is DuckDB's/],
    ["select date_trunc('hour', ts) from `p.detections.t`", /date_trunc\(\), which is DuckDB's/],
    ["select * from read_parquet('x')", /read_parquet\(\), which is DuckDB's/],
    ["select made_up_function(1)", /made_up_function\(\), which is not in lint\/bigquery.ts's list/],
    ["select * from `p.unknown_dataset.t`", /dataset "unknown_dataset"/],
    ["select * from `detections.t`", /not a project.dataset.table path/],
    ["select 1; DECLARE x INT64 DEFAULT 1", /DECLARE only at the start/],
  ])("catches %s", (sql, message) => {
    expect(lint(sql).join("\n")).toMatch(message);
  });
});
