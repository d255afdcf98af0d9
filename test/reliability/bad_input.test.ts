// Every case of the bad-input catalogue against the real service (loopback port, DuckDB sink on a
// temporary file): the documented status, a JSON message that says what to change, and the valid
// events of the same batch stored, once. RELIABILITY.md must list every case.
import { readFile } from "node:fs/promises";
import { request } from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Service } from "../../ingest/service.ts";
import { startLocalService, type LocalService } from "../support/local_service.ts";
import { CATALOGUE, type Case } from "./bad_input_catalogue.ts";

const TOKEN = "catalogue-token";
const REQUEST_TIMEOUT_MS = 1_500;
let local: LocalService;
let service: Service;

beforeAll(async () => {
  local = await startLocalService({ AUTH_TOKENS: TOKEN, REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) });
  service = local.service;
});
afterAll(async () => {
  await local.stop();
});

interface Answer {
  status: number;
  body: string;
}

/** node:http, not fetch: the cases need a slow body, oversized headers and bytes sent as they are. */
function send(test: Case, base: number): Promise<Answer> {
  const spec = test.request(base);
  const body = spec.body === undefined ? undefined : Buffer.isBuffer(spec.body) ? spec.body : Buffer.from(spec.body);
  const headers: Record<string, string> = { "content-type": "application/json", authorization: `Bearer ${TOKEN}`, ...spec.headers };
  for (const [key, value] of Object.entries(headers)) if (value === "") delete headers[key];
  if (body) headers["content-length"] = String(body.length);
  if (spec.headerBytes) headers["x-padding"] = "p".repeat(spec.headerBytes);
  const url = new URL("/v1/detections", service.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: spec.method ?? "POST", headers, agent: false }, (res) => {
      let text = "";
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on("error", reject);
    if (!body) return void req.end();
    if (spec.slow) {
      // Half the body, then nothing: the request timeout must answer, not wait forever.
      req.write(body.subarray(0, body.length >> 1));
      return;
    }
    req.end(body);
  });
}

async function storedIds(from: number, to: number): Promise<number[]> {
  const rows = await service.query(
    `select detection_oid::bigint as id from detections_raw.raw_detection_events where detection_oid between ${from} and ${to} order by 1`
  );
  return rows.map((r) => Number(r.id));
}

describe("the bad-input catalogue", () => {
  it("has at least 30 cases, each listed in RELIABILITY.md with its status", async () => {
    expect(CATALOGUE.length).toBeGreaterThanOrEqual(30);
    const doc = await readFile(path.join(import.meta.dirname, "..", "..", "RELIABILITY.md"), "utf8");
    for (const test of CATALOGUE) expect(doc, test.name).toContain(`| ${test.name} | ${test.status} |`);
  });

  CATALOGUE.forEach((test, index) => {
    it(`${test.name} → ${test.status}`, async () => {
      const base = 1_000_000 * (index + 1);
      const answer = await send(test, base);
      expect(answer.status).toBe(test.status);
      const json = JSON.parse(answer.body) as { error?: string; accepted?: number; rejected?: number; errors?: Array<{ index: number; reason: string }> };
      if (test.status === 202) {
        if (test.rejectedIndex === undefined) {
          expect(json.errors).toEqual([]);
        } else {
          expect(json.errors).toHaveLength(1);
          expect(json.errors![0]!.index).toBe(test.rejectedIndex);
          expect(json.errors![0]!.reason).toMatch(test.message);
        }
        expect(await storedIds(base, base + 999_999)).toEqual([base, base + 1]);
      } else {
        // Every refusal is JSON with a message saying what to change, and stores nothing.
        expect(json.error).toMatch(test.message);
        expect(await storedIds(base, base + 999_999)).toEqual([]);
      }
    });
  });

  it("stores every valid event of the catalogue's batches exactly once", async () => {
    const { n, ids } = (await service.query("select count(*)::integer as n, count(distinct detection_oid)::integer as ids from detections_raw.raw_detection_events"))[0]!;
    expect(n).toBe(ids);
    // The rejected events went to the dead-letter table, each with its reason.
    const dead = await service.query("select count(*)::integer as n from detections_raw.invalid_detection_events where json_extract_string(attributes, '$.reason') is not null");
    expect(dead[0]!.n).toBe(CATALOGUE.filter((c) => c.rejectedIndex !== undefined).length);
  });
});
