import { describe, expect, it } from "vitest";
import { actionsInOrder, parseCompiledGraph, selectActions } from "../../runner/graph.ts";

const t = (schema: string, name: string) => ({ database: "p", schema, name });

function graph() {
  return parseCompiledGraph({
    projectConfig: { vars: { raw_dataset: "raw" } },
    declarations: [{ target: t("raw", "events") }],
    operations: [{ target: t("raw", "locations"), queries: ["select 1"], hasOutput: true, tags: ["locations"], fileName: "l.sqlx" }],
    tables: [
      { target: t("d", "top"), enumType: "TABLE", query: "q", dependencyTargets: [t("d", "counts"), t("raw", "locations")], tags: ["realtime"], fileName: "top.sqlx" },
      { target: t("d", "counts"), enumType: "INCREMENTAL", query: "q", uniqueKey: ["k"], dependencyTargets: [t("d", "stg")], tags: ["realtime"], fileName: "c.sqlx" },
      { target: t("d", "stg"), enumType: "VIEW", query: "q", dependencyTargets: [t("raw", "events")], tags: ["realtime"], fileName: "s.sqlx" },
      { target: t("d", "live"), enumType: "VIEW", materialized: true, query: "q", dependencyTargets: [t("raw", "events")], fileName: "m.sqlx" },
      { target: t("d", "off"), enumType: "TABLE", query: "q", disabled: true, fileName: "o.sqlx" },
    ],
    assertions: [{ target: t("a", "top_unique"), query: "q", dependencyTargets: [t("d", "top")], tags: ["checks"], fileName: "a.sqlx" }],
  });
}

describe("compiled graph order", () => {
  it("puts every action after the actions it depends on, and skips disabled ones", () => {
    const names = actionsInOrder(graph()).map((a) => a.name);
    expect(names).not.toContain("d.off");
    for (const [before, after] of [["d.stg", "d.counts"], ["d.counts", "d.top"], ["raw.locations", "d.top"], ["d.top", "a.top_unique"]]) {
      expect(names.indexOf(before!)).toBeLessThan(names.indexOf(after!));
    }
  });

  it("tells a materialized view from a view and an incremental table from a table", () => {
    const kinds = Object.fromEntries(actionsInOrder(graph()).map((a) => [a.name, a.kind]));
    expect(kinds).toMatchObject({ "d.live": "materialized_view", "d.stg": "view", "d.counts": "incremental", "d.top": "table", "raw.locations": "operation", "a.top_unique": "assertion" });
  });

  it("reports a dependency cycle with its path", () => {
    const cyclic = graph();
    cyclic.tables[2]!.dependencyTargets = [t("d", "top")];
    expect(() => actionsInOrder(cyclic)).toThrow(/dependency cycle: .*d\.(stg|counts|top) -> .*/);
  });
});

describe("action selection", () => {
  const ordered = actionsInOrder(graph());

  it("selects by short name and adds dependencies on request", () => {
    expect(selectActions(ordered, { actions: ["top"] }).map((a) => a.name)).toEqual(["d.top"]);
    expect(selectActions(ordered, { actions: ["top"], includeDependencies: true }).map((a) => a.name).sort()).toEqual(["d.counts", "d.stg", "d.top", "raw.locations"]);
  });

  it("adds everything downstream on request", () => {
    expect(selectActions(ordered, { actions: ["stg"], includeDependents: true }).map((a) => a.name)).toEqual(
      actionsInOrder(graph()).map((a) => a.name).filter((n) => ["d.stg", "d.counts", "d.top", "a.top_unique"].includes(n))
    );
  });

  it("selects by tag and can leave assertions out", () => {
    expect(selectActions(ordered, { tags: ["checks"] }).map((a) => a.name)).toEqual(["a.top_unique"]);
    expect(selectActions(ordered, { includeAssertions: false }).some((a) => a.kind === "assertion")).toBe(false);
  });

  it("names the models when asked for an action that does not exist", () => {
    expect(() => selectActions(ordered, { actions: ["nope"] })).toThrow(/no action named "nope"; the models are: .*d\.top/);
  });
});
