// The compiled Dataform graph, reduced to what the runner executes, in dependency order.
import { z } from "zod";

const target = z.object({ database: z.string().optional(), schema: z.string(), name: z.string() });
export type Target = z.infer<typeof target>;

const table = z.object({
  target,
  enumType: z.enum(["TABLE", "VIEW", "INCREMENTAL"]),
  materialized: z.boolean().optional(),
  query: z.string(),
  incrementalQuery: z.string().optional(),
  preOps: z.array(z.string()).optional(),
  postOps: z.array(z.string()).optional(),
  incrementalPreOps: z.array(z.string()).optional(),
  incrementalPostOps: z.array(z.string()).optional(),
  uniqueKey: z.array(z.string()).optional(),
  bigquery: z
    .object({
      partitionBy: z.string().optional(),
      clusterBy: z.array(z.string()).optional(),
      updatePartitionFilter: z.string().optional(),
      partitionExpirationDays: z.number().optional(),
      additionalOptions: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
  dependencyTargets: z.array(target).optional(),
  tags: z.array(z.string()).optional(),
  disabled: z.boolean().optional(),
  fileName: z.string(),
  /** The documented columns (config { columns }); BigQuery checks use them to write the MERGE. */
  actionDescriptor: z.object({ columns: z.array(z.object({ path: z.array(z.string()) })).optional() }).optional(),
});

const operation = z.object({
  target,
  queries: z.array(z.string()),
  hasOutput: z.boolean().optional(),
  dependencyTargets: z.array(target).optional(),
  tags: z.array(z.string()).optional(),
  disabled: z.boolean().optional(),
  fileName: z.string(),
});

const assertion = z.object({
  target,
  query: z.string(),
  dependencyTargets: z.array(target).optional(),
  tags: z.array(z.string()).optional(),
  disabled: z.boolean().optional(),
  fileName: z.string(),
  parentAction: target.optional(),
});

const test = z.object({
  name: z.string(),
  testQuery: z.string(),
  expectedOutputQuery: z.string(),
  fileName: z.string(),
});

const compiledGraph = z.object({
  projectConfig: z.object({
    defaultDatabase: z.string().optional(),
    defaultSchema: z.string().optional(),
    assertionSchema: z.string().optional(),
    vars: z.record(z.string(), z.string()).optional(),
  }),
  tables: z.array(table).default([]),
  operations: z.array(operation).default([]),
  assertions: z.array(assertion).default([]),
  declarations: z.array(z.object({ target, fileName: z.string().optional() })).default([]),
  tests: z.array(test).default([]),
  graphErrors: z
    .object({
      compilationErrors: z.array(z.object({ fileName: z.string().optional(), message: z.string().optional() })).optional(),
    })
    .default({}),
});

export type CompiledGraph = z.infer<typeof compiledGraph>;
export type CompiledTable = z.infer<typeof table>;
export type CompiledOperation = z.infer<typeof operation>;
export type CompiledAssertion = z.infer<typeof assertion>;
export type CompiledTest = z.infer<typeof test>;

export function parseCompiledGraph(json: unknown): CompiledGraph {
  return compiledGraph.parse(json);
}

export type ActionKind = "table" | "view" | "materialized_view" | "incremental" | "operation" | "assertion";

export type Action =
  | { kind: "table" | "view" | "materialized_view" | "incremental"; name: string; deps: string[]; tags: string[]; table: CompiledTable }
  | { kind: "operation"; name: string; deps: string[]; tags: string[]; operation: CompiledOperation }
  | { kind: "assertion"; name: string; deps: string[]; tags: string[]; assertion: CompiledAssertion };

/** schema.name: the action's name in logs, selections and the DuckDB file (one schema per dataset). */
export function targetName(t: Target): string {
  return `${t.schema}.${t.name}`;
}

function tableKind(t: CompiledTable): Action["kind"] {
  if (t.enumType === "INCREMENTAL") return "incremental";
  if (t.enumType === "VIEW") return t.materialized ? "materialized_view" : "view";
  return "table";
}

/** Every executable action (declarations are inputs, not actions), in a dependency order. */
export function actionsInOrder(graph: CompiledGraph): Action[] {
  const actions: Action[] = [
    ...graph.tables
      .filter((t) => !t.disabled)
      .map((t) => ({ kind: tableKind(t), name: targetName(t.target), deps: (t.dependencyTargets ?? []).map(targetName), tags: t.tags ?? [], table: t }) as Action),
    ...graph.operations
      .filter((o) => !o.disabled)
      .map((o): Action => ({ kind: "operation", name: targetName(o.target), deps: (o.dependencyTargets ?? []).map(targetName), tags: o.tags ?? [], operation: o })),
    ...graph.assertions
      .filter((a) => !a.disabled)
      .map((a): Action => ({ kind: "assertion", name: targetName(a.target), deps: (a.dependencyTargets ?? []).map(targetName), tags: a.tags ?? [], assertion: a })),
  ];
  const byName = new Map(actions.map((a) => [a.name, a]));
  const ordered: Action[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (action: Action, path: string[]) => {
    const seen = state.get(action.name);
    if (seen === "done") return;
    if (seen === "visiting") throw new Error(`dependency cycle: ${[...path, action.name].join(" -> ")}`);
    state.set(action.name, "visiting");
    for (const dep of [...action.deps].sort()) {
      const upstream = byName.get(dep);
      if (upstream) visit(upstream, [...path, action.name]);
    }
    state.set(action.name, "done");
    ordered.push(action);
  };
  // Tables before checks: each model's data is committed, and visible to the dashboards, as early in
  // the run as its dependencies allow, and the assertions then read finished tables. An action that
  // depends on an assertion still runs after it (the visit pulls the assertion forward).
  const rank = (a: Action) => (a.kind === "assertion" ? 1 : 0);
  for (const action of [...actions].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name))) visit(action, []);
  return ordered;
}

export interface Selection {
  /** Action names (schema.name or just name); empty = all. */
  actions?: string[];
  /** Keep actions carrying any of these tags; empty = all. */
  tags?: string[];
  /** Also run what the selected actions depend on. */
  includeDependencies?: boolean;
  /** Also run everything downstream of the selected actions. */
  includeDependents?: boolean;
  /** Assertions (built-in and files) run unless this is false. */
  includeAssertions?: boolean;
}

export function selectActions(ordered: Action[], selection: Selection): Action[] {
  const matchesName = (action: Action, wanted: string) => action.name === wanted || action.name.endsWith(`.${wanted}`);
  for (const wanted of selection.actions ?? []) {
    if (!ordered.some((a) => matchesName(a, wanted))) {
      const models = ordered.filter((a) => a.kind !== "assertion").map((a) => a.name);
      throw new Error(`no action named "${wanted}"; the models are: ${models.join(", ")}`);
    }
  }
  let chosen = ordered.filter(
    (a) =>
      (!selection.actions?.length || selection.actions.some((w) => matchesName(a, w))) &&
      (!selection.tags?.length || a.tags.some((t) => selection.tags!.includes(t)))
  );
  if (selection.includeDependencies) {
    const byName = new Map(ordered.map((a) => [a.name, a]));
    const wanted = new Set<string>();
    const add = (name: string) => {
      if (wanted.has(name)) return;
      const action = byName.get(name);
      if (!action) return;
      wanted.add(name);
      action.deps.forEach(add);
    };
    chosen.forEach((a) => add(a.name));
    chosen = ordered.filter((a) => wanted.has(a.name));
  }
  if (selection.includeDependents) {
    const wanted = new Set(chosen.map((a) => a.name));
    // `ordered` is a dependency order, so one pass reaches every transitive dependent.
    for (const action of ordered) {
      if (action.deps.some((dep) => wanted.has(dep))) wanted.add(action.name);
    }
    chosen = ordered.filter((a) => wanted.has(a.name));
  }
  if (selection.includeAssertions === false) chosen = chosen.filter((a) => a.kind !== "assertion");
  return chosen;
}
