// BigQuery datasets and tables through the official client (@google-cloud/bigquery): read the
// resource, create it, or patch the fields that differ. Partitioning cannot change after creation:
// such a difference is reported, not "fixed" by dropping a table.
import type { BigQuery } from "@google-cloud/bigquery";
import { desiredFields, isNotFound, type Provider, type Resource } from "./plan.ts";

function shaped(metadata: Record<string, unknown>, like: Record<string, unknown>): Record<string, unknown> {
  // Only the fields Sightline sets, so BigQuery's own (etag, creationTime, …) never count as drift.
  return Object.fromEntries(Object.keys(like).map((key) => [key, metadata[key]]));
}

export function datasetProvider(client: BigQuery): Provider {
  return {
    kind: "bigquery.dataset",
    async read(resource) {
      try {
        const [metadata] = await client.dataset(resource.name).getMetadata();
        return shaped(metadata, resource.body);
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    async create(resource) {
      await client.createDataset(resource.name, resource.body);
    },
    async update(resource, paths) {
      if (paths.includes("location")) throw new Error(`dataset ${resource.name} is in another location; a dataset cannot move (create the project's datasets in one region)`);
      await client.dataset(resource.name).setMetadata(desiredFields(resource, paths));
    },
  };
}

function tableOf(client: BigQuery, resource: Resource) {
  const [dataset, table] = resource.name.split(".") as [string, string];
  return client.dataset(dataset).table(table);
}

export function tableProvider(client: BigQuery): Provider {
  return {
    kind: "bigquery.table",
    async read(resource) {
      try {
        const [metadata] = await tableOf(client, resource).getMetadata();
        return shaped(metadata, resource.body);
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    async create(resource) {
      const [dataset, table] = resource.name.split(".") as [string, string];
      await client.dataset(dataset).createTable(table, resource.body);
    },
    async update(resource, paths) {
      if (paths.includes("clustering")) throw new Error(`table ${resource.name} is clustered differently; clustering changes need a new table`);
      // A partition expiration changes in place; a different partitioning column or type is refused by BigQuery.
      await tableOf(client, resource).setMetadata(desiredFields(resource, paths));
    },
  };
}
