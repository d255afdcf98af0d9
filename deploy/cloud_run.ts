// Cloud Run: the ingest service, built from the Dockerfile by Cloud Build and deployed with gcloud
// (`--source .`), because building images is gcloud's job, not the deploy plan's. The plan makes
// everything the service needs first (its service account and grants, the tokens' secret); this
// module gives the exact command, its environment checked against the service's own configuration.
import { INGEST_DEAD_LETTER_TOPIC, INGEST_SERVICE, INGEST_SERVICE_ACCOUNT, INGEST_TOKENS_SECRET, RAW_TOPIC, serviceAccountEmail } from "./names.ts";
import type { Resource } from "./plan.ts";

export interface CloudRunConfig {
  project: string;
  region: string;
}

/** The secret the cameras' tokens live in; its versions are added by hand (they are credentials). */
export function secretResources(config: CloudRunConfig): Resource[] {
  return [
    {
      kind: "secretmanager.secret",
      name: `projects/${config.project}/secrets/${INGEST_TOKENS_SECRET}`,
      // Stored in the service's region only.
      body: { replication: { userManaged: { replicas: [{ location: config.region }] } }, labels: { app: "sightline" } },
    },
  ];
}

/** The service's environment in production (AUTH_TOKENS comes from the secret). */
export function ingestEnvironment(config: CloudRunConfig): Record<string, string> {
  return { SINK: "pubsub", GOOGLE_CLOUD_PROJECT: config.project, PUBSUB_TOPIC: RAW_TOPIC, PUBSUB_DEAD_LETTER_TOPIC: INGEST_DEAD_LETTER_TOPIC, LOG_LEVEL: "info" };
}

/** `gcloud run deploy …` as an argument list (run from the repository root). */
export function cloudRunDeployCommand(config: CloudRunConfig): string[] {
  const environment = Object.entries(ingestEnvironment(config)).map(([key, value]) => `${key}=${value}`);
  return [
    "gcloud", "run", "deploy", INGEST_SERVICE,
    "--source", ".",
    `--project=${config.project}`,
    `--region=${config.region}`,
    `--service-account=${serviceAccountEmail(INGEST_SERVICE_ACCOUNT, config.project)}`,
    `--set-env-vars=${environment.join(",")}`,
    `--set-secrets=AUTH_TOKENS=${INGEST_TOKENS_SECRET}:latest`,
    // Cameras are not Google identities: they pass Cloud Run's front door and present a bearer token to the service.
    "--allow-unauthenticated",
    "--port=8080",
    "--cpu=2", "--memory=1Gi",
    // One instance is always warm (no cold start in the freshness path); the Pub/Sub client batches in
    // the background, so CPU stays allocated between requests.
    "--min-instances=1", "--max-instances=20", "--no-cpu-throttling",
    "--concurrency=250",
    // Slow bodies get 408 from the service after REQUEST_TIMEOUT_MS (30 s); Cloud Run's limit sits above it.
    "--timeout=60",
  ];
}

/** The command as one shell line, each argument quoted only when it needs to be. */
export function shellLine(argv: string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)).join(" ");
}
