// The whole of `sightline deploy` as the official clients send it, against a loopback stand-in for the
// Google Cloud REST APIs (no GCP here): every part created once in dependency order, nothing planned
// on a second run, drift repaired with an update mask, grants that only ever add, and the Cloud Run
// command's environment accepted by the ingest service's own configuration.
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../ingest/config.ts";
import { cloudRunDeployCommand, ingestEnvironment } from "../../deploy/cloud_run.ts";
import { deployPlan, productionResources, type DeployConfig } from "../../deploy/deploy.ts";
import { WORKFLOWS } from "../../deploy/dataform_resources.ts";
import { alertPolicyResources, logMetricResources } from "../../deploy/monitoring_resources.ts";
import { RAW_SUBSCRIPTION, INGEST_TOKENS_SECRET } from "../../deploy/names.ts";
import type { Resource } from "../../deploy/plan.ts";
import { FAKE_PROJECT_NUMBER, startFakeGoogleApis, type FakeGoogleApis } from "../support/fake_google_apis.ts";

const GIT = "https://github.com/acme/sightline.git";
/** The configuration without the stand-in, for the tests that only look at the planned resources. */
const BASE = { project: "acme-vision-prod", region: "europe-west1", gitUrl: GIT, projectNumber: FAKE_PROJECT_NUMBER };
let fake: FakeGoogleApis;
let dir: string;
let config: DeployConfig;

beforeAll(async () => {
  process.env.METADATA_SERVER_DETECTION = "none";
  fake = await startFakeGoogleApis();
  dir = await mkdtemp(path.join(tmpdir(), "sightline-deploy-"));
  writeFileSync(path.join(dir, "B.parquet"), "PAR1 version one PAR1");
  config = {
    project: "acme-vision-prod",
    region: "europe-west1",
    endpoint: fake.endpoint,
    gitUrl: GIT,
    locationsFile: path.join(dir, "B.parquet"),
    notificationChannels: ["projects/acme-vision-prod/notificationChannels/42"],
  };
});
afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

async function planned(overrides: Partial<DeployConfig> = {}) {
  const deployment = await deployPlan({ ...config, ...overrides });
  return deployment;
}

const binding = (resource: Resource) => resource.body as { target: { kind: string; name: string }; role: string; member: string };

describe("sightline deploy, the whole of production", () => {
  it("creates everything once, dependencies first, then plans nothing", async () => {
    const first = await planned();
    try {
      expect(first.changes.every((c) => c.action === "create")).toBe(true);
      const kinds = [...new Set(first.changes.map((c) => c.resource.kind))];
      expect(kinds).toEqual(expect.arrayContaining(["iam.serviceAccount", "bigquery.dataset", "bigquery.table", "pubsub.topic", "pubsub.subscription", "storage.bucket", "storage.object", "secretmanager.secret", "logging.metric", "iam.binding", "dataform.repository", "dataform.releaseConfig", "dataform.workflowConfig", "monitoring.alertPolicy"]));
      await first.apply();
    } finally {
      await first.close();
    }
    const writes = fake.writes().map((w) => `${w.method} ${w.path}`);
    // GCP checks at creation: the BigQuery subscription needs Pub/Sub's agent to be able to write the table first.
    const tableGrant = writes.indexOf("POST projects/acme-vision-prod/datasets/detections_raw/tables/raw_detection_events:setIamPolicy");
    const subscription = writes.indexOf(`PUT projects/acme-vision-prod/subscriptions/${RAW_SUBSCRIPTION}`);
    expect(tableGrant).toBeGreaterThan(-1);
    expect(subscription).toBeGreaterThan(tableGrant);
    // Dataform runs as its own account: the account exists before the repository names it.
    expect(writes.indexOf("POST projects/acme-vision-prod/serviceAccounts")).toBeLessThan(writes.indexOf("POST projects/acme-vision-prod/locations/europe-west1/repositories"));

    const second = await planned();
    try {
      expect(second.changes.filter((c) => c.action !== "keep").map((c) => `${c.action} ${c.resource.kind} ${c.resource.name}`)).toEqual([]);
      const before = fake.writes().length;
      await second.apply();
      expect(fake.writes().length).toBe(before);
    } finally {
      await second.close();
    }
  });

  it("sends the Dataform repository, release and workflow configurations as the API takes them", () => {
    const call = (path: string, id: string) => fake.calls.find((c) => c.method === "POST" && c.path === path && [...c.query.values()].includes(id))!;
    const repositories = "projects/acme-vision-prod/locations/europe-west1/repositories";
    expect(call(repositories, "sightline").body).toMatchObject({ gitRemoteSettings: { url: GIT, defaultBranch: "main" }, serviceAccount: "sightline-dataform@acme-vision-prod.iam.gserviceaccount.com" });
    expect(call(`${repositories}/sightline/releaseConfigs`, "production").body).toMatchObject({
      gitCommitish: "main",
      codeCompilationConfig: { defaultDatabase: "acme-vision-prod", vars: { warehouse: "bigquery", locations_uri: "gs://acme-vision-prod-sightline/geographical_locations.parquet" } },
    });
    for (const workflow of WORKFLOWS) {
      expect(call(`${repositories}/sightline/workflowConfigs`, workflow.id).body).toMatchObject({ cronSchedule: workflow.cron, invocationConfig: { includedTags: [...workflow.tags] } });
    }
  });

  it("keeps Dataset B in a versioned, private bucket in the region, uploading only changed bytes", async () => {
    expect(fake.resources.get("b/acme-vision-prod-sightline")).toMatchObject({ location: "EUROPE-WEST1", versioning: { enabled: true }, iamConfiguration: { publicAccessPrevention: "enforced" } });
    expect(fake.objects.get("acme-vision-prod-sightline/geographical_locations.parquet")!.toString()).toBe("PAR1 version one PAR1");

    writeFileSync(path.join(dir, "B.parquet"), "PAR1 version two PAR1");
    const next = await planned();
    try {
      expect(next.changes.filter((c) => c.action !== "keep").map((c) => `${c.action} ${c.resource.name}`)).toEqual(["update acme-vision-prod-sightline/geographical_locations.parquet"]);
      await next.apply();
    } finally {
      await next.close();
    }
    expect(fake.objects.get("acme-vision-prod-sightline/geographical_locations.parquet")!.toString()).toBe("PAR1 version two PAR1");
  });

  it("repairs drift with an update mask naming only what differs", async () => {
    const name = "projects/acme-vision-prod/locations/europe-west1/repositories/sightline/workflowConfigs/hourly";
    fake.resources.set(name, { ...fake.resources.get(name)!, cronSchedule: "0 0 * * *" });
    const policy = [...fake.resources.values()].find((r) => r.displayName === "Sightline: raw events waiting over 2 minutes")!;
    (policy.conditions as Array<{ conditionThreshold: { thresholdValue: number } }>)[0]!.conditionThreshold.thresholdValue = 600;
    const drifted = await planned();
    try {
      const updates = drifted.changes.filter((c) => c.action !== "keep");
      expect(updates.map((c) => [c.resource.name, c.differences.map((d) => d.path)])).toEqual([
        [name, ["cronSchedule"]],
        ["Sightline: raw events waiting over 2 minutes", ["conditions"]],
      ]);
      await drifted.apply();
    } finally {
      await drifted.close();
    }
    const patch = fake.calls.filter((c) => c.method === "PATCH" && c.path === name).at(-1)!;
    expect(patch.query.get("updateMask")).toBe("cron_schedule");
    expect(fake.resources.get(name)!.cronSchedule).toBe("7 * * * *");
    const again = await planned();
    try {
      expect(again.changes.every((c) => c.action === "keep")).toBe(true);
    } finally {
      await again.close();
    }
  });

  it("grants by adding a member, never dropping members someone else granted", async () => {
    const topic = "projects/acme-vision-prod/topics/ingest-dead-letters";
    const current = fake.policies.get(topic)!;
    // Someone removes our grant and adds their own reader meanwhile.
    fake.policies.set(topic, { ...current, bindings: [{ role: "roles/pubsub.viewer", members: ["user:auditor@acme.example"] }] });
    const next = await planned();
    try {
      expect(next.changes.filter((c) => c.action !== "keep").map((c) => c.resource.name)).toEqual(["roles/pubsub.publisher → sightline-ingest on pubsub.topic ingest-dead-letters"]);
      await next.apply();
    } finally {
      await next.close();
    }
    expect(fake.policies.get(topic)!.bindings).toEqual([
      { role: "roles/pubsub.viewer", members: ["user:auditor@acme.example"] },
      { role: "roles/pubsub.publisher", members: ["serviceAccount:sightline-ingest@acme-vision-prod.iam.gserviceaccount.com"] },
    ]);
  });
});

describe("least privilege", () => {
  const resources = productionResources(BASE);
  const grants = resources.filter((r) => r.kind === "iam.binding").map(binding);

  it("grants one project-wide role (query jobs) and no basic role anywhere", () => {
    expect(grants.filter((g) => g.target.kind === "project").map((g) => `${g.role} ${g.member}`)).toEqual(["roles/bigquery.jobUser serviceAccount:sightline-dataform@acme-vision-prod.iam.gserviceaccount.com"]);
    expect(grants.filter((g) => /roles\/(owner|editor|viewer)$/.test(g.role) || g.role.endsWith(".admin"))).toEqual([]);
  });

  it("grants only on resources the plan itself makes, or the project", () => {
    const planned = new Set(resources.filter((r) => r.kind !== "iam.binding").map((r) => `${r.kind} ${r.name}`));
    for (const grant of grants) if (grant.target.kind !== "project") expect(planned, `${grant.role} on ${grant.target.kind} ${grant.target.name}`).toContain(`${grant.target.kind} ${grant.target.name}`);
  });

  it("lets Dataform's agent read the Git token's secret only when there is one", () => {
    const version = "projects/acme-vision-prod/secrets/github-token/versions/3";
    const withToken = productionResources({ ...BASE, gitTokenSecretVersion: version }).filter((r) => r.kind === "iam.binding").map(binding);
    const extra = withToken.filter((g) => !grants.some((h) => JSON.stringify(h) === JSON.stringify(g)));
    expect(extra).toEqual([{ target: { kind: "secretmanager.secret", name: "projects/acme-vision-prod/secrets/github-token" }, role: "roles/secretmanager.secretAccessor", member: `serviceAccount:service-${FAKE_PROJECT_NUMBER}@gcp-sa-dataform.iam.gserviceaccount.com` }]);
  });

  it("names Google's service agents after the project's number", () => {
    const agents = grants.map((g) => g.member).filter((m) => m.includes("gcp-sa-"));
    expect(new Set(agents)).toEqual(new Set([`serviceAccount:service-${FAKE_PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com`, `serviceAccount:service-${FAKE_PROJECT_NUMBER}@gcp-sa-dataform.iam.gserviceaccount.com`]));
  });
});

describe("the Cloud Run service", () => {
  const cloudRun = { project: "acme-vision-prod", region: "europe-west1" };
  const argv = cloudRunDeployCommand(cloudRun);
  const flag = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const grants = productionResources(BASE).filter((r) => r.kind === "iam.binding").map(binding);

  it("has an environment the ingest service's configuration accepts, with tokens from the secret", () => {
    const environment = Object.fromEntries(flag("set-env-vars")!.split(",").map((pair) => pair.split("=") as [string, string]));
    expect(environment).toEqual(ingestEnvironment(cloudRun));
    expect(flag("set-secrets")).toBe(`AUTH_TOKENS=${INGEST_TOKENS_SECRET}:latest`);
    const service = loadConfig({ ...environment, AUTH_TOKENS: "token-from-the-secret" });
    expect(service).toMatchObject({ sink: "pubsub", project: "acme-vision-prod", local: false, authTokens: ["token-from-the-secret"] });
    // Without the secret the service refuses to start: auth is on outside local mode.
    expect(() => loadConfig(environment)).toThrow(/AUTH_TOKENS/);
  });

  it("runs as the account that may publish to exactly the topics it is configured with and read its secret", () => {
    const account = `serviceAccount:${flag("service-account")}`;
    const mine = grants.filter((g) => g.member === account).map((g) => `${g.role} ${g.target.kind} ${g.target.name}`);
    const environment = ingestEnvironment(cloudRun);
    expect(mine.sort()).toEqual(
      [
        `roles/pubsub.publisher pubsub.topic ${environment.PUBSUB_TOPIC}`,
        `roles/pubsub.publisher pubsub.topic ${environment.PUBSUB_DEAD_LETTER_TOPIC}`,
        `roles/secretmanager.secretAccessor secretmanager.secret projects/acme-vision-prod/secrets/${INGEST_TOKENS_SECRET}`,
      ].sort()
    );
    expect(argv.slice(0, 6)).toEqual(["gcloud", "run", "deploy", "sightline-ingest", "--source", "."]);
  });
});

describe("alert policies", () => {
  const policies = alertPolicyResources({ project: "acme-vision-prod" });
  const text = JSON.stringify(policies);

  it("cover each failure the on-call engineer must hear about", () => {
    const conditions = policies.map((p) => JSON.stringify((p.body.conditions as unknown[])[0]));
    const covered = (pattern: RegExp) => conditions.filter((c) => pattern.test(c)).length;
    expect(covered(/oldest_unacked_message_age.*"thresholdValue":120/)).toBe(1);
    expect(covered(/dead_letter_message_count/)).toBe(1);
    expect(covered(/export_push_subscription_details.*subscription_state/)).toBe(1);
    expect(covered(/terminalState=\\"FAILED\\"/)).toBe(2); // any workflow, and the assertions' workflow
    expect(covered(/conditionAbsent.*"seconds":900/)).toBe(1);
    expect(covered(/response_code_class=\\"5xx\\".*denominatorFilter/)).toBe(1);
    expect(covered(/sightline_detection_lag/)).toBe(1);
    expect(new Set(policies.map((p) => p.name)).size).toBe(policies.length);
  });

  it("refer only to log-based metrics, subscriptions and services the plan creates", () => {
    const metrics = new Set(logMetricResources({ project: "acme-vision-prod" }).map((m) => m.name));
    for (const [, metric] of text.matchAll(/logging\.googleapis\.com\/user\/(\w+)/g)) expect(metrics).toContain(metric);
    for (const [, id] of text.matchAll(/subscription_id=\\"([^\\]+)\\"/g)) expect(id).toBe(RAW_SUBSCRIPTION);
    for (const [, service] of text.matchAll(/service_name=\\"([^\\]+)\\"/g)) expect(service).toBe("sightline-ingest");
  });

  it("read the ingest service's lag from the field its request log lines carry", () => {
    const lag = logMetricResources({ project: "acme-vision-prod" }).find((m) => m.name === "sightline_detection_lag")!;
    expect(lag.body.valueExtractor).toBe("EXTRACT(jsonPayload.detectionLagSeconds)");
  });
});
