// Cloud Storage: a versioned bucket in the region holding Dataset B as Parquet, through the official
// client (@google-cloud/storage). The object is uploaded only when its bytes differ (MD5), so a rerun
// with the same file changes nothing, and a new version of the file keeps the old one as a noncurrent
// version (Dataform's `locations` workflow loads the live one).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Storage } from "@google-cloud/storage";
import { LOCATIONS_OBJECT } from "./names.ts";
import { desiredFields, isNotFound, type Provider, type Resource } from "./plan.ts";

export interface StorageConfig {
  region: string;
  bucket: string;
  /** Dataset B's Parquet file on this machine; without it the object is not planned. */
  locationsFile?: string;
}

export function md5Base64(file: string): string {
  return createHash("md5").update(readFileSync(file)).digest("base64");
}

export function storageResources(config: StorageConfig): Resource[] {
  const bucket: Resource = {
    kind: "storage.bucket",
    name: config.bucket,
    body: {
      // Cloud Storage reports locations upper-case.
      location: config.region.toUpperCase(),
      versioning: { enabled: true },
      // Access through IAM only, never public.
      iamConfiguration: { uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: "enforced" },
      // Old versions of Dataset B: the last 5 are kept for a rollback, older ones deleted.
      lifecycle: { rule: [{ action: { type: "Delete" }, condition: { isLive: false, numNewerVersions: 5 } }] },
    },
  };
  if (!config.locationsFile) return [bucket];
  return [bucket, { kind: "storage.object", name: `${config.bucket}/${LOCATIONS_OBJECT}`, body: { md5Hash: md5Base64(config.locationsFile) } }];
}

export function bucketProvider(client: Storage): Provider {
  return {
    kind: "storage.bucket",
    async read(resource) {
      try {
        const [metadata] = await client.bucket(resource.name).getMetadata();
        return Object.fromEntries(Object.keys(resource.body).map((key) => [key, (metadata as Record<string, unknown>)[key]]));
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    async create(resource) {
      await client.createBucket(resource.name, resource.body);
    },
    async update(resource, paths) {
      if (paths.includes("location")) throw new Error(`bucket ${resource.name} is in another location; a bucket cannot move (pass --bucket to use another name)`);
      await client.bucket(resource.name).setMetadata(desiredFields(resource, paths));
    },
  };
}

/** Objects are named "bucket/object"; `files` maps each object to the local file it comes from. */
export function objectProvider(client: Storage, files: Record<string, string>): Provider {
  const split = (name: string) => {
    const slash = name.indexOf("/");
    return { bucket: name.slice(0, slash), object: name.slice(slash + 1) };
  };
  const upload = async (resource: Resource) => {
    const { bucket, object } = split(resource.name);
    const file = files[resource.name];
    if (!file) throw new Error(`no local file for gs://${resource.name}`);
    // MD5 end to end: the same hash decides whether to upload and checks what arrived.
    await client.bucket(bucket).upload(file, { destination: object, resumable: false, validation: "md5", metadata: { contentType: "application/vnd.apache.parquet" } });
  };
  return {
    kind: "storage.object",
    async read(resource) {
      const { bucket, object } = split(resource.name);
      try {
        const [metadata] = await client.bucket(bucket).file(object).getMetadata();
        return { md5Hash: metadata.md5Hash };
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    create: upload,
    update: upload,
  };
}
