import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { describeObject, openDatabase, type Database } from "../../runner/database.ts";
import { executeActions, executeTest } from "../../runner/execute.ts";
import { actionsInOrder, parseCompiledGraph } from "../../runner/graph.ts";
import { planTable, replaceByKey, toDuckdbSql } from "../../runner/statements.ts";

const t = (schema: string, name: string) => ({ database: "proj", schema, name });

let db: Database;
beforeEach(async () => {
  db = await openDatabase(":memory:");
  await db.connection.run("create schema raw; create schema d; create schema a");
  await db.connection.run("create table raw.events as select * from (values (1, 'x'), (2, 'y'), (2, 'y')) v(id, name)");
});
afterEach(() => db.close());

const rows = async (sql: string) => (await db.connection.runAndReadAll(sql)).getRowObjectsJson();

/** An incremental model keyed on id that adds the raw rows above its own high-water mark. */
function incrementalGraph(extraAssertion = "select 1 as bad where false") {
  return parseCompiledGraph({
    projectConfig: {},
    tables: [
      {
        target: t("d", "counts"),
        enumType: "INCREMENTAL",
        uniqueKey: ["id"],
        preOps: ["SET VARIABLE lo = 0;"],
        incrementalPreOps: ["SET VARIABLE lo = (select coalesce(max(id), 0) from `proj.d.counts`);"],
        query: "select id, count(*) as copies from `proj.raw.events` where id > getvariable('lo') group by id",
        incrementalQuery: "select id, count(*) as copies from `proj.raw.events` where id > getvariable('lo') group by id",
        dependencyTargets: [t("raw", "events")],
        fileName: "counts.sqlx",
      },
    ],
    assertions: [{ target: t("a", "check"), query: extraAssertion.replaceAll("COUNTS", "`proj.d.counts`"), dependencyTargets: [t("d", "counts")], fileName: "check.sqlx" }],
  });
}

describe("statements for DuckDB", () => {
  it("turns backticked project.dataset.table paths into schema-qualified names and leaves other text alone", () => {
    expect(toDuckdbSql("select * from `p-1.ds.tbl` join `p-1.ds2.t2` using (id) where s = 'a`b'")).toBe(
      `select * from "ds"."tbl" join "ds2"."t2" using (id) where s = 'a\`b'`
    );
  });

  it("creates an incremental table in full on its first run and merges afterwards", () => {
    const table = incrementalGraph().tables[0]!;
    const existingTable = { type: "table" as const, columns: ["id", "copies"] };
    expect(planTable("incremental", table, null, false).mode).toBe("create");
    expect(planTable("incremental", table, existingTable, false).mode).toBe("merge");
    expect(planTable("incremental", table, existingTable, true).mode).toBe("create");
    expect(planTable("incremental", { ...table, uniqueKey: undefined }, { type: "table", columns: ["id"] }, false).mode).toBe("insert");
    expect(planTable("materialized_view", table, { type: "table", columns: [] }, false).sql[0]).toBe('drop table "d"."counts"');
  });

  it("points at the statement that writes the table, before pre- and after post-operations", () => {
    const table = { ...incrementalGraph().tables[0]!, incrementalPreOps: ["set variable a = 1"], incrementalPostOps: ["create table x as select 1", "select 2"] };
    const plan = planTable("incremental", table, { type: "table", columns: ["id", "copies"] }, false);
    // pre-operation, source + delete, insert, drop the source, two post-operations
    expect(plan.sql).toHaveLength(6);
    expect(plan.writeIndex).toBe(2);
    expect(plan.sql[plan.writeIndex]).toMatch(/^insert into "d"."counts" \("id", "copies"\) select/i);
    expect(plan.sql[1]).toMatch(/delete from "d"."counts" as dataform_dest using "sightline_merge_source" where dataform_dest."id" = "sightline_merge_source"."id"$/);
    expect(plan.sql.slice(4)).toEqual(["create table x as select 1", "select 2"]);
  });

  it("adds the partition filter to the rows that can be replaced, on the target side, as Dataform's MERGE does", () => {
    expect(replaceByKey('"d"."t"', "select 1", ["k"], ["k", "v"], "day >= getvariable('d')").prepare).toMatch(
      /where dataform_dest."k" = "sightline_merge_source"."k" and dataform_dest.day >= getvariable\('d'\)$/
    );
  });
});

describe("describeObject", () => {
  it("tells a table (with its columns in order) from a view and from nothing, in the schema asked for", async () => {
    await db.connection.run("create schema s; create table s.t (b int, a varchar, c date); create view s.v as select 1 as x; create table main.t (z int)");
    // A temporary table (the runner's merge source is one) is not the model's table, even in schema main.
    await db.connection.run("create temp table v (y int); create temp table t (y int)");
    expect(await describeObject(db.connection, "s", "t")).toEqual({ type: "table", columns: ["b", "a", "c"] });
    expect(await describeObject(db.connection, "s", "v")).toEqual({ type: "view", columns: [] });
    expect(await describeObject(db.connection, "s", "missing")).toBeNull();
    expect(await describeObject(db.connection, "main", "t")).toEqual({ type: "table", columns: ["z"] });
    expect(await describeObject(db.connection, "main", "v")).toBeNull();
  });
});

describe("executing a compiled graph on DuckDB", () => {
  it("runs pre-operations and the merge so a second run adds only new keys", async () => {
    const actions = actionsInOrder(incrementalGraph());
    const first = await executeActions(db.connection, actions);
    expect(first.map((r) => [r.name, r.status, r.mode])).toEqual([["d.counts", "ok", "create"], ["a.check", "ok", "assertion"]]);
    await db.connection.run("insert into raw.events values (3, 'z'), (1, 'x')");
    const second = await executeActions(db.connection, actions, { countRows: true });
    expect(second[0]).toMatchObject({ mode: "merge", rowsChanged: 1, rows: 3 });
    // Row counts cost a scan once a table has deleted rows: a run without countRows reports none.
    await db.connection.run("insert into raw.events values (4, 'w')");
    const third = await executeActions(db.connection, actions);
    expect(third[0]).toMatchObject({ mode: "merge", rowsChanged: 1 });
    expect(third[0]!.rows).toBeUndefined();
    expect(await rows("select id, copies from d.counts order by id")).toEqual([{ id: 1, copies: "1" }, { id: 2, copies: "2" }, { id: 3, copies: "1" }, { id: 4, copies: "1" }]);
  });

  it("fails the run on an assertion that returns rows, and names them", async () => {
    const actions = actionsInOrder(incrementalGraph("select id, copies from COUNTS where copies > 1"));
    const results = await executeActions(db.connection, actions);
    const check = results.find((r) => r.name === "a.check")!;
    expect(check.status).toBe("failed");
    expect(check.violations).toEqual({ count: 1, sample: [{ id: 2, copies: 2 }] });
    expect(check.error).toMatch(/assertion a\.check \(check\.sqlx\) failed: 1 row\(s\) violate it, e\.g\. \[\{"id":2,"copies":2\}\]/);
  });

  it("leaves a table as it was when its action fails midway, and skips what depends on it", async () => {
    const graph = incrementalGraph();
    await executeActions(db.connection, actionsInOrder(graph));
    const broken = parseCompiledGraph({ ...graph, tables: [{ ...graph.tables[0]!, incrementalQuery: "select id, 1/0 as copies from `proj.raw.events` where error('boom') is null" }] });
    await db.connection.run("insert into raw.events values (9, 'late')");
    const results = await executeActions(db.connection, actionsInOrder(broken));
    expect(results[0]).toMatchObject({ status: "failed" });
    expect(results[0]!.error).toMatch(/d\.counts failed: .*boom/);
    expect(results[1]).toMatchObject({ name: "a.check", status: "skipped" });
    expect(await rows("select count(*) as n from d.counts")).toEqual([{ n: "2" }]);
  });

  it("passes a unit test whose rows match in any order and fails one that differs, saying how", async () => {
    const ok = await executeTest(db.connection, { name: "t", fileName: "t.sqlx", testQuery: "select 2 as a union all select 1", expectedOutputQuery: "select 1 as a union all select 2" });
    expect(ok.status).toBe("ok");
    const bad = await executeTest(db.connection, { name: "t", fileName: "t.sqlx", testQuery: "select 1 as a", expectedOutputQuery: "select 2 as a" });
    expect(bad).toMatchObject({ status: "failed" });
    expect(bad.error).toMatch(/missing \["\{\\"a\\":\\"2\\"\}"\], unexpected \["\{\\"a\\":\\"1\\"\}"\]/);
    const columns = await executeTest(db.connection, { name: "t", fileName: "t.sqlx", testQuery: "select 1 as a", expectedOutputQuery: "select 1 as b" });
    expect(columns.error).toMatch(/columns differ: got \[a\], expected \[b\]/);
  });
});

describe("a model whose table predates its SQL", () => {
  it("fails with what to do: rebuild it with --full-refresh", async () => {
    const [action] = actionsInOrder(incrementalGraph()).filter((a) => a.kind === "incremental");
    expect((await executeActions(db.connection, [action!]))[0]!.status).toBe("ok");
    // The SQL gains a watermark column the existing table does not have.
    const newer = parseCompiledGraph({
      projectConfig: {},
      tables: [
        {
          target: t("d", "counts"),
          enumType: "INCREMENTAL",
          uniqueKey: ["id"],
          incrementalPreOps: ["SET VARIABLE lo = (select coalesce(max(last_seen), 0) from `proj.d.counts`);"],
          query: "select id, count(*) as copies, max(id) as last_seen from `proj.raw.events` group by id",
          incrementalQuery: "select id, count(*) as copies, max(id) as last_seen from `proj.raw.events` where id > getvariable('lo') group by id",
          dependencyTargets: [t("raw", "events")],
          fileName: "counts.sqlx",
        },
      ],
    });
    const [result] = await executeActions(db.connection, actionsInOrder(newer).filter((a) => a.kind === "incremental"));
    expect(result!.status).toBe("failed");
    expect(result!.error).toMatch(/column "last_seen" is new\): rebuild it with `sightline transform --full-refresh --actions counts`/);
  });
});

describe("independent actions at once", () => {
  // d.slow takes a while to build, d.fast does not, d.after reads d.slow and d.fast.
  const slowSql = "select count(*) as n from range(2000) a, range(40000) b where (a.range * b.range) % 7 = 3";
  function graph(slow = slowSql, fast = "select 1 as one") {
    return parseCompiledGraph({
      projectConfig: {},
      tables: [
        { target: t("d", "slow"), enumType: "TABLE", query: slow, fileName: "slow.sqlx" },
        { target: t("d", "fast"), enumType: "TABLE", query: fast, fileName: "fast.sqlx" },
        {
          target: t("d", "after"),
          enumType: "TABLE",
          query: "select n, one from `proj.d.slow`, `proj.d.fast`",
          dependencyTargets: [t("d", "slow"), t("d", "fast")],
          fileName: "after.sqlx",
        },
        { target: t("d", "unrelated"), enumType: "TABLE", query: "select 2 as two", fileName: "unrelated.sqlx" },
      ],
    });
  }
  const finished = async (connections: Parameters<typeof executeActions>[0], actions = actionsInOrder(graph())) => {
    const order: string[] = [];
    const results = await executeActions(connections, actions, { onAction: (r) => order.push(r.name) });
    return { order, results };
  };

  it("runs an action beside a slower one it does not depend on, and what depends on both after both", async () => {
    const other = await db.instance.connect();
    try {
      const actions = actionsInOrder(graph());
      const alone = await finished(db.connection, actions);
      // One connection: the given order, each after the one before.
      expect(alone.order).toEqual(actions.map((a) => a.name));
      const together = await finished([db.connection, other], actions);
      // Two: d.slow takes one connection, the quick ones pass it on the other; d.after waits for d.slow.
      expect(together.order.indexOf("d.slow")).toBeGreaterThan(together.order.indexOf("d.fast"));
      expect(together.order.indexOf("d.slow")).toBeGreaterThan(together.order.indexOf("d.unrelated"));
      expect(together.order.at(-1)).toBe("d.after");
      // Results come back in the given order, whatever the order they finished in.
      expect(together.results.map((r) => r.name)).toEqual(actions.map((a) => a.name));
      expect(together.results.every((r) => r.status === "ok")).toBe(true);
      expect(await rows("select n > 0 as counted, one from d.after")).toEqual([{ counted: true, one: 1 }]);
    } finally {
      other.closeSync();
    }
  });

  it("stops models not yet started when one fails, lets the running one finish, and skips what depends on the failure", async () => {
    const other = await db.instance.connect();
    try {
      const broken = graph(slowSql, "select error('fast broke') as one");
      const { results } = await finished([db.connection, other], actionsInOrder(broken));
      const status = Object.fromEntries(results.map((r) => [r.name, r.status]));
      expect(status["d.fast"]).toBe("failed");
      expect(status["d.slow"]).toBe("ok");
      expect(status["d.after"]).toBe("skipped");
      expect(results.find((r) => r.name === "d.after")!.error).toBe("skipped: d.fast failed");
    } finally {
      other.closeSync();
    }
  });

  it("relies on DuckDB keeping SET VARIABLE per connection (models running at once declare the same names)", async () => {
    const other = await db.instance.connect();
    try {
      await db.connection.run("set variable loaded_after = 1");
      await other.run("set variable loaded_after = 2");
      expect((await db.connection.runAndReadAll("select getvariable('loaded_after') as v")).getRowObjectsJson()).toEqual([{ v: 1 }]);
      expect((await other.runAndReadAll("select getvariable('loaded_after') as v")).getRowObjectsJson()).toEqual([{ v: 2 }]);
    } finally {
      other.closeSync();
    }
  });
});
