// Alert policies (@google-cloud/monitoring) and log-based metrics (@googleapis/logging). Alert policies
// get server-assigned names, so Sightline's are found by display name, which the plan keeps unique.
import type { AlertPolicyServiceClient, protos } from "@google-cloud/monitoring";
import type { logging_v2 } from "@googleapis/logging";
import { fieldMaskPaths, isNotFound, type Provider, type Resource } from "./plan.ts";

type Plain = Record<string, unknown>;

/** Drops proto3 default values (0, "", false, empty lists and messages): absent and default mean the same. */
function withoutDefaults(value: unknown): unknown {
  if (Array.isArray(value)) return value.length ? value.map(withoutDefaults) : undefined;
  if (value && typeof value === "object") {
    const kept = Object.entries(value).flatMap(([key, field]) => {
      const pruned = withoutDefaults(field);
      return pruned === undefined ? [] : [[key, pruned] as const];
    });
    return kept.length ? Object.fromEntries(kept) : undefined;
  }
  return value === 0 || value === "" || value === false ? undefined : value;
}

/**
 * A policy as plain data in one canonical shape whichever side it came from (the API fills in
 * defaults, zero nanos, REDUCE_NONE…): defaults dropped (with enums as numbers, so a zero enum is one
 * of them), then enums by name and durations in whole seconds, without the fields the server assigns
 * (names, creation and mutation records).
 */
export function canonicalPolicy(monitoring: typeof protos, policy: object): Plain {
  const type = monitoring.google.monitoring.v3.AlertPolicy;
  const numeric = type.toObject(type.fromObject(JSON.parse(JSON.stringify(policy)) as object), { enums: Number, longs: Number });
  const pruned = (withoutDefaults(numeric) ?? {}) as object;
  const plain = JSON.parse(JSON.stringify(type.toObject(type.fromObject(pruned), { enums: String, longs: Number }))) as Plain;
  delete plain.name;
  delete plain.creationRecord;
  delete plain.mutationRecord;
  for (const condition of (plain.conditions ?? []) as Plain[]) delete condition.name;
  return plain;
}

export function alertPolicyProvider(client: AlertPolicyServiceClient, monitoring: typeof protos, project: string): Provider {
  const names = new Map<string, string>();
  const find = async (displayName: string) => {
    const [policies] = await client.listAlertPolicies({ name: `projects/${project}`, filter: `display_name="${displayName.replaceAll('"', '\\"')}"` }, { autoPaginate: false });
    if (policies.length > 1) throw new Error(`${policies.length} alert policies are named "${displayName}"; delete all but one`);
    return policies[0];
  };
  return {
    kind: "monitoring.alertPolicy",
    async read(resource) {
      const found = await find(resource.name);
      if (!found) return null;
      names.set(resource.name, found.name!);
      return canonicalPolicy(monitoring, found);
    },
    canonical: (body) => canonicalPolicy(monitoring, body),
    async create(resource) {
      await client.createAlertPolicy({ name: `projects/${project}`, alertPolicy: resource.body });
    },
    async update(resource: Resource, paths) {
      const name = names.get(resource.name) ?? (await find(resource.name))?.name;
      if (!name) throw new Error(`alert policy "${resource.name}" disappeared while planning`);
      await client.updateAlertPolicy({ alertPolicy: { ...resource.body, name }, updateMask: { paths: fieldMaskPaths(paths) } });
    },
  };
}

export function logMetricProvider(logging: logging_v2.Logging, project: string): Provider {
  const metricName = (name: string) => `projects/${project}/metrics/${name}`;
  return {
    kind: "logging.metric",
    async read(resource) {
      try {
        const { data } = await logging.projects.metrics.get({ metricName: metricName(resource.name) });
        return data as Plain;
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    async create(resource) {
      await logging.projects.metrics.create({ parent: `projects/${project}`, requestBody: { name: resource.name, ...resource.body } });
    },
    async update(resource) {
      // LogMetric updates replace the whole metric.
      await logging.projects.metrics.update({ metricName: metricName(resource.name), requestBody: { name: resource.name, ...resource.body } });
    },
  };
}
