// The deploy plan: read what exists, compare it with what Sightline needs, and create or update only
// what differs. Kinds of resource plug in as providers; this module knows none of them.

export interface Resource {
  kind: string;
  name: string;
  /** The desired state, shaped as the API's request body. */
  body: Record<string, unknown>;
}

export interface Provider {
  kind: string;
  /** The current state in the same shape as `body`, or null when it does not exist. */
  read(resource: Resource): Promise<Record<string, unknown> | null>;
  create(resource: Resource): Promise<void>;
  /** Updates the fields at `paths` (dotted, as in an update mask) to the desired values. */
  update(resource: Resource, paths: string[]): Promise<void>;
  /** The body in the same canonical form `read` returns, where the API's own form differs (defaults, enums). */
  canonical?(body: Record<string, unknown>): Record<string, unknown>;
}

export interface Difference {
  path: string;
  current: unknown;
  desired: unknown;
}

export interface Change {
  action: "create" | "update" | "keep";
  resource: Resource;
  differences: Difference[];
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Fields of `desired` whose value differs in `current`; fields only in `current` are not Sightline's. */
export function differences(desired: Record<string, unknown>, current: Record<string, unknown>, prefix = ""): Difference[] {
  const found: Difference[] = [];
  for (const [key, want] of Object.entries(desired)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const have = current[key];
    if (isObject(want)) found.push(...differences(want, isObject(have) ? have : {}, path));
    else if (JSON.stringify(want) !== JSON.stringify(have)) found.push({ path, current: have, desired: want });
  }
  return found;
}

function providerFor(providers: Provider[], kind: string): Provider {
  const provider = providers.find((p) => p.kind === kind);
  if (!provider) throw new Error(`no provider for ${kind}`);
  return provider;
}

export async function plan(resources: Resource[], providers: Provider[]): Promise<Change[]> {
  const changes: Change[] = [];
  for (const resource of resources) {
    const provider = providerFor(providers, resource.kind);
    const current = await provider.read(resource);
    if (current === null) changes.push({ action: "create", resource, differences: [] });
    else {
      const found = differences(provider.canonical ? provider.canonical(resource.body) : resource.body, current);
      changes.push({ action: found.length ? "update" : "keep", resource, differences: found });
    }
  }
  return changes;
}

/** Applies in plan order (the resources are listed dependencies first). */
export async function apply(changes: Change[], providers: Provider[]): Promise<void> {
  for (const change of changes) {
    const provider = providerFor(providers, change.resource.kind);
    if (change.action === "create") await provider.create(change.resource);
    else if (change.action === "update") await provider.update(change.resource, [...new Set(change.differences.map((d) => topLevelField(d.path)))]);
  }
}

/** The desired values of the given top-level fields: the body of an update with that mask. */
export function desiredFields(resource: Resource, paths: string[]): Record<string, unknown> {
  return Object.fromEntries(paths.map((path) => [path, resource.body[path]]));
}

/**
 * The API says the resource does not exist: gRPC's NOT_FOUND (5), or HTTP 404 from the REST clients
 * and from the gRPC clients' REST transport (by `code` or `status`, depending on the client).
 */
export function isNotFound(error: unknown): boolean {
  const { code, status } = (error ?? {}) as { code?: unknown; status?: unknown };
  return code === 5 || code === 404 || status === 404;
}

/** camelCase field names as the snake_case paths of a protobuf field mask. */
export function fieldMaskPaths(fields: string[]): string[] {
  return fields.map((field) => field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`));
}

/** Update masks name fields, not leaves: a changed retention's `seconds` updates `messageRetentionDuration`. */
function topLevelField(path: string): string {
  return path.split(".")[0]!;
}

export function describePlan(changes: Change[]): string[] {
  const lines: string[] = [];
  for (const change of changes) {
    const sign = { create: "+", update: "~", keep: "=" }[change.action];
    lines.push(`${sign} ${change.action.padEnd(6)} ${change.resource.kind} ${change.resource.name}`);
    for (const d of change.differences) lines.push(`      ${d.path}: ${JSON.stringify(d.current)} → ${JSON.stringify(d.desired)}`);
  }
  const counts = (action: Change["action"]) => changes.filter((c) => c.action === action).length;
  lines.push(`plan: ${counts("create")} to create, ${counts("update")} to update, ${counts("keep")} unchanged`);
  return lines;
}
