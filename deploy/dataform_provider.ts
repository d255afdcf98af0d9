// Dataform's repository, release configuration and workflow configurations through the official
// client (@google-cloud/dataform, API v1): get, create under the parent with an id, update with a
// field mask. All three follow the same pattern, so one provider serves each kind.
import type { protos, v1 } from "@google-cloud/dataform";
import { fieldMaskPaths, isNotFound, type Provider, type Resource } from "./plan.ts";

type Message = Record<string, unknown>;
const KINDS = {
  "dataform.repository": { field: "repository", type: "Repository" },
  "dataform.releaseConfig": { field: "releaseConfig", type: "ReleaseConfig" },
  "dataform.workflowConfig": { field: "workflowConfig", type: "WorkflowConfig" },
} as const;

/** A message as plain JSON-like data: maps and repeated fields as plain objects and arrays. */
function plain(message: unknown): Message {
  return JSON.parse(JSON.stringify(message)) as Message;
}

export function dataformProviders(client: v1.DataformClient, dataform: typeof protos): Provider[] {
  return Object.entries(KINDS).map(([kind, { field, type }]) => {
    const call = <T>(verb: string, request: object) => (client as unknown as Record<string, (r: object) => Promise<[T]>>)[`${verb}${type}`]!(request);
    // The three message classes share the static methods used here.
    const messageType = dataform.google.cloud.dataform.v1[type] as unknown as {
      fromObject(object: object): object;
      toObject(message: object, options: { defaults: boolean }): object;
    };
    return {
      kind,
      async read(resource: Resource) {
        try {
          const [found] = await call<object>("get", { name: resource.name });
          // Unset fields as their defaults (false, ""), the way the API means them.
          return plain(messageType.toObject(messageType.fromObject(found), { defaults: true }));
        } catch (error) {
          if (isNotFound(error)) return null;
          throw error;
        }
      },
      async create(resource: Resource) {
        const slash = resource.name.lastIndexOf("/");
        const parent = resource.name.slice(0, resource.name.lastIndexOf("/", slash - 1));
        await call("create", { parent, [field]: resource.body, [`${field}Id`]: resource.name.slice(slash + 1) });
      },
      async update(resource: Resource, paths: string[]) {
        await call("update", { [field]: { name: resource.name, ...resource.body }, updateMask: { paths: fieldMaskPaths(paths) } });
      },
    } satisfies Provider;
  });
}
