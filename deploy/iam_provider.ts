// Service accounts (IAM API), the ingest tokens' secret (Secret Manager) and role grants on each kind
// of resource, through the official clients. A grant only ever adds a member to a role: members others
// granted are left alone, and policies are written back with the etag they were read with, so a
// concurrent change makes the write fail instead of being overwritten.
import type { BigQuery } from "@google-cloud/bigquery";
import type { PubSub } from "@google-cloud/pubsub";
import type { Storage } from "@google-cloud/storage";
import type { cloudresourcemanager_v3 } from "@googleapis/cloudresourcemanager";
import type { iam_v1 } from "@googleapis/iam";
import type { secretmanager_v1 } from "@googleapis/secretmanager";
import type { BindingTarget } from "./iam_resources.ts";
import { isNotFound, type Provider, type Resource } from "./plan.ts";

interface Policy {
  bindings?: Array<{ role?: string | null; members?: string[] | null; condition?: unknown }> | null;
  etag?: unknown;
  version?: number | null;
}

/** Reads and writes one kind of resource's IAM policy. */
interface PolicyAccess {
  get(name: string): Promise<Policy>;
  set(name: string, policy: Policy): Promise<void>;
}

/** Adds and checks one member of one role on one kind of resource. */
export interface GrantTarget {
  has(name: string, role: string, member: string): Promise<boolean>;
  add(name: string, role: string, member: string): Promise<void>;
}

function throughPolicy(access: PolicyAccess): GrantTarget {
  // Conditional bindings are someone else's: only an unconditional binding counts as the grant.
  const binding = (policy: Policy, role: string) => policy.bindings?.find((b) => b.role === role && !b.condition);
  return {
    async has(name, role, member) {
      return binding(await access.get(name), role)?.members?.includes(member) ?? false;
    },
    async add(name, role, member) {
      const policy = await access.get(name);
      const existing = binding(policy, role);
      if (existing) existing.members = [...(existing.members ?? []), member];
      else policy.bindings = [...(policy.bindings ?? []), { role, members: [member] }];
      await access.set(name, policy);
    },
  };
}

export interface IamClients {
  project: string;
  iam: iam_v1.Iam;
  resourceManager: cloudresourcemanager_v3.Cloudresourcemanager;
  secretManager: secretmanager_v1.Secretmanager;
  bigquery: BigQuery;
  pubsub: PubSub;
  storage: Storage;
}

export function grantTargets(clients: IamClients): Record<string, GrantTarget> {
  const { iam, resourceManager, secretManager, bigquery, pubsub, storage, project } = clients;
  const v3 = { options: { requestedPolicyVersion: 3 } };
  const table = (name: string) => {
    const [dataset, id] = name.split(".") as [string, string];
    return bigquery.dataset(dataset).table(id);
  };
  return {
    project: throughPolicy({
      get: async (name) => (await resourceManager.projects.getIamPolicy({ resource: `projects/${name}`, requestBody: v3 })).data,
      set: async (name, policy) => void (await resourceManager.projects.setIamPolicy({ resource: `projects/${name}`, requestBody: { policy: policy as cloudresourcemanager_v3.Schema$Policy } })),
    }),
    "iam.serviceAccount": throughPolicy({
      get: async (email) => (await iam.projects.serviceAccounts.getIamPolicy({ resource: `projects/${project}/serviceAccounts/${email}` })).data,
      set: async (email, policy) => void (await iam.projects.serviceAccounts.setIamPolicy({ resource: `projects/${project}/serviceAccounts/${email}`, requestBody: { policy: policy as iam_v1.Schema$Policy } })),
    }),
    "secretmanager.secret": throughPolicy({
      get: async (name) => (await secretManager.projects.secrets.getIamPolicy({ resource: name })).data,
      set: async (name, policy) => void (await secretManager.projects.secrets.setIamPolicy({ resource: name, requestBody: { policy: policy as secretmanager_v1.Schema$Policy } })),
    }),
    "pubsub.topic": throughPolicy({
      get: async (name) => (await pubsub.topic(name).iam.getPolicy())[0] as Policy,
      set: async (name, policy) => void (await pubsub.topic(name).iam.setPolicy(policy as never)),
    }),
    "pubsub.subscription": throughPolicy({
      get: async (name) => (await pubsub.subscription(name).iam.getPolicy())[0] as Policy,
      set: async (name, policy) => void (await pubsub.subscription(name).iam.setPolicy(policy as never)),
    }),
    "storage.bucket": throughPolicy({
      get: async (name) => (await storage.bucket(name).iam.getPolicy({ requestedPolicyVersion: 3 }))[0] as Policy,
      set: async (name, policy) => void (await storage.bucket(name).iam.setPolicy(policy as never)),
    }),
    "bigquery.table": throughPolicy({
      get: async (name) => (await table(name).getIamPolicy())[0] as Policy,
      set: async (name, policy) => void (await table(name).setIamPolicy(policy as never)),
    }),
    // Datasets keep their grants as access entries rather than an IAM policy.
    "bigquery.dataset": {
      async has(name, role, member) {
        const [metadata] = await bigquery.dataset(name).getMetadata();
        const email = member.split(":")[1];
        return ((metadata.access ?? []) as Array<Record<string, string>>).some((entry) => entry.role === role && (entry.userByEmail === email || entry.iamMember === member));
      },
      async add(name, role, member) {
        const [metadata] = await bigquery.dataset(name).getMetadata();
        // The etag makes BigQuery refuse the patch if the entries changed since they were read.
        await bigquery.dataset(name).setMetadata({ access: [...(metadata.access ?? []), { role, userByEmail: member.split(":")[1] }], etag: metadata.etag });
      },
    },
  };
}

export function bindingProvider(targets: Record<string, GrantTarget>): Provider {
  const targetOf = (resource: Resource) => {
    const { target, role, member } = resource.body as { target: BindingTarget; role: string; member: string };
    const access = targets[target.kind];
    if (!access) throw new Error(`no way to grant roles on ${target.kind}`);
    return { access, target, role, member };
  };
  return {
    kind: "iam.binding",
    async read(resource) {
      const { access, target, role, member } = targetOf(resource);
      try {
        return (await access.has(target.name, role, member)) ? resource.body : null;
      } catch (error) {
        // The resource itself is planned but not created yet: so is the grant.
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    async create(resource) {
      const { access, target, role, member } = targetOf(resource);
      await access.add(target.name, role, member);
    },
    async update() {
      // A grant is all name: it either exists or is created.
    },
  };
}

export function serviceAccountProvider(iam: iam_v1.Iam, project: string): Provider {
  const name = (email: string) => `projects/${project}/serviceAccounts/${email}`;
  return {
    kind: "iam.serviceAccount",
    async read(resource) {
      try {
        const { data } = await iam.projects.serviceAccounts.get({ name: name(resource.name) });
        return { displayName: data.displayName, description: data.description };
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    async create(resource) {
      await iam.projects.serviceAccounts.create({ name: `projects/${project}`, requestBody: { accountId: resource.name.split("@")[0], serviceAccount: resource.body } });
    },
    async update(resource, paths) {
      await iam.projects.serviceAccounts.patch({ name: name(resource.name), requestBody: { serviceAccount: resource.body, updateMask: paths.join(",") } });
    },
  };
}

export function secretProvider(secretManager: secretmanager_v1.Secretmanager): Provider {
  return {
    kind: "secretmanager.secret",
    async read(resource) {
      try {
        const { data } = await secretManager.projects.secrets.get({ name: resource.name });
        return { replication: data.replication, labels: data.labels };
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    async create(resource) {
      const slash = resource.name.lastIndexOf("/secrets/");
      await secretManager.projects.secrets.create({ parent: resource.name.slice(0, slash), secretId: resource.name.slice(slash + "/secrets/".length), requestBody: resource.body });
    },
    async update(resource, paths) {
      if (paths.includes("replication")) throw new Error(`secret ${resource.name} is replicated elsewhere; replication cannot change (delete the secret to recreate it)`);
      await secretManager.projects.secrets.patch({ name: resource.name, updateMask: paths.join(","), requestBody: resource.body });
    },
  };
}
