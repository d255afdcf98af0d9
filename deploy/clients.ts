// The official clients `sightline deploy` talks to GCP with. In production they find Application
// Default Credentials (`gcloud auth application-default login`); tests point every one of them at a
// loopback stand-in of the REST APIs with a fixed token instead.
import { BigQuery } from "@google-cloud/bigquery";
import { v1 as dataformV1, protos as dataformProtos } from "@google-cloud/dataform";
import { AlertPolicyServiceClient, protos as monitoringProtos } from "@google-cloud/monitoring";
import { PubSub } from "@google-cloud/pubsub";
import { Storage } from "@google-cloud/storage";
import { cloudresourcemanager, type cloudresourcemanager_v3 } from "@googleapis/cloudresourcemanager";
import { iam, type iam_v1 } from "@googleapis/iam";
import { logging, type logging_v2 } from "@googleapis/logging";
import { secretmanager, type secretmanager_v1 } from "@googleapis/secretmanager";
import { GoogleAuth, OAuth2Client } from "google-auth-library";

export interface Clients {
  project: string;
  bigquery: BigQuery;
  pubsub: PubSub;
  storage: Storage;
  dataform: dataformV1.DataformClient;
  dataformProtos: typeof dataformProtos;
  alertPolicies: AlertPolicyServiceClient;
  monitoringProtos: typeof monitoringProtos;
  iam: iam_v1.Iam;
  resourceManager: cloudresourcemanager_v3.Cloudresourcemanager;
  secretManager: secretmanager_v1.Secretmanager;
  logging: logging_v2.Logging;
  close(): Promise<void>;
}

export interface ClientOptions {
  project: string;
  region: string;
  /** A plain-HTTP stand-in for every API (tests); unset for Google's real endpoints. */
  endpoint?: string;
}

export function createClients(options: ClientOptions): Clients {
  const { project, region, endpoint } = options;
  // The packages pin different google-auth-library versions; an auth client of one works with all of
  // them at run time, so their options are typed loosely here and nowhere else.
  let rest: { auth: never; rootUrl?: string };
  let gapic: Record<string, never> = {};
  let pubsubOptions: Record<string, never> = {};
  if (endpoint) {
    const token = new OAuth2Client();
    token.setCredentials({ access_token: "sightline-test-token", expiry_date: Date.now() + 3_600_000 });
    const url = new URL(endpoint);
    rest = { auth: token as never, rootUrl: `${endpoint}/` };
    // The gRPC clients' REST transport ("fallback"), over plain HTTP to the stand-in.
    gapic = { fallback: true, apiEndpoint: url.hostname, port: Number(url.port), protocol: "http", authClient: token } as unknown as Record<string, never>;
    pubsubOptions = { fallback: true, apiEndpoint: url.host, protocol: "http", authClient: token } as unknown as Record<string, never>;
  } else {
    rest = { auth: new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] }) as never };
  }
  const pubsub = new PubSub({ projectId: project, ...pubsubOptions });
  const dataform = new dataformV1.DataformClient(gapic);
  const alertPolicies = new AlertPolicyServiceClient(gapic);
  return {
    project,
    bigquery: new BigQuery({ projectId: project, location: region, ...(endpoint ? { apiEndpoint: endpoint } : {}) }),
    pubsub,
    storage: new Storage({ projectId: project, ...(endpoint ? { apiEndpoint: endpoint } : {}) }),
    dataform,
    dataformProtos,
    alertPolicies,
    monitoringProtos,
    iam: iam({ version: "v1", ...rest }),
    resourceManager: cloudresourcemanager({ version: "v3", ...rest }),
    secretManager: secretmanager({ version: "v1", ...rest }),
    logging: logging({ version: "v2", ...rest }),
    async close() {
      await Promise.all([pubsub.close(), dataform.close(), alertPolicies.close()]);
    },
  };
}

/** The project's number, which Google's service agents are named after. */
export async function projectNumber(clients: Clients): Promise<string> {
  const { data } = await clients.resourceManager.projects.get({ name: `projects/${clients.project}` });
  return data.name!.split("/")[1]!;
}
