// `sightline simulate` as a user runs it (in-process, output captured): flags are checked with clear
// errors, and a short run against a real ingest service stores what its summary says, reproducibly.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CommanderError } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simulateCommand } from "../../cli/simulate_command.ts";
import { loadConfig } from "../../ingest/config.ts";
import { startService, type Service } from "../../ingest/service.ts";
import { DEFAULT_STREAM, EventStream } from "../../simulate/events.ts";

let dir: string;
let service: Service;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "sightline-simulate-cli-"));
  service = await startService(loadConfig({ SIGHTLINE_LOCAL: "true", PORT: "0", HOST: "127.0.0.1", SIGHTLINE_DB: path.join(dir, "w.duckdb"), LOG_LEVEL: "silent" }));
});
afterAll(async () => {
  await service.close();
  await rm(dir, { recursive: true, force: true });
});

async function simulateCli(args: string[]) {
  let out = "";
  let err = "";
  const command = simulateCommand()
    .exitOverride()
    .configureOutput({ writeOut: (text) => void (out += text), writeErr: (text) => void (err += text) });
  let error: CommanderError | undefined;
  const exitCode = process.exitCode;
  try {
    await command.parseAsync(args, { from: "user" });
  } catch (caught) {
    if (!(caught instanceof CommanderError)) throw caught;
    error = caught;
  }
  const code = process.exitCode;
  process.exitCode = exitCode;
  return { out, err, error, code };
}

describe("sightline simulate", () => {
  it.each([
    [["--rate", "fast"], /--rate <events>' argument 'fast' is invalid\. expected a positive integer/],
    [["--rate", "0"], /expected a positive integer/],
    [["--duplicate-rate", "3"], /--duplicate-rate <share>' argument '3' is invalid\. expected a share from 0 to 1/],
    [["--invalid-rate", ""], /expected a share from 0 to 1/],
    [["--batch-size", "20000"], /at most 10,000 events a request/],
    [["--concurrency", "1.5"], /expected a positive integer/],
    [["--duration", "-1"], /expected a positive number of seconds/],
    [["--first-oid", "-5"], /expected an integer of 0 or more/],
    [["--url", "localhost:8080"], /expected an http\(s\) URL/],
    [["--locations", "1000000000"], /expected at most 100,000,000/],
  ])("refuses %j", async (args, message) => {
    const result = await simulateCli(args);
    expect(result.error?.code).toBe("commander.invalidArgument");
    expect(result.err).toMatch(message);
    expect(result.out).toBe("");
  });

  it("sends for the given duration, prints the summary table, and the stream follows its seed and first oid", async () => {
    const result = await simulateCli(["--url", service.url, "--rate", "2000", "--duration", "1", "--batch-size", "200", "--seed", "4", "--first-oid", "8000000", "--invalid-rate", "0.05"]);
    expect(result.error).toBeUndefined();
    expect(result.code).toBeUndefined();
    expect(result.err).toContain(`simulating 2,000 events/s to ${service.url}/v1/detections (seed 4, first detection_oid 8000000, for 1 s)`);
    const table = Object.fromEntries(
      result.out.trim().split("\n").map((line) => {
        const [label, value] = line.trim().split(/\s{2,}/);
        return [label!, value!];
      })
    );
    expect(table).toMatchObject({ sent: "2,000", "never acknowledged": "0", retries: "0" });
    const accepted = Number(table.accepted!.replace(/,/g, ""));
    const rejected = Number(table.rejected!.replace(/,/g, ""));
    expect(accepted + rejected).toBe(2_000);
    expect(rejected).toBeGreaterThan(40);

    // The stored detections are the ones the generator makes from that seed and first oid.
    const reader = await service.database!.connection.runAndReadAll(
      "select detection_oid::bigint as id, geographical_location_oid::bigint as location, item_name from detections_raw.raw_detection_events where detection_oid between 8000000 and 8999999 order by id"
    );
    const stored = reader.getRowObjectsJS().map((r) => `${r.id} ${r.location} ${r.item_name}`);
    expect(stored).toHaveLength(accepted);
    const expected = new EventStream({ ...DEFAULT_STREAM, seed: 4, firstOid: 8_000_000, invalidRate: 0.05 })
      .nextBatch(2_000)
      .events.flatMap((e) => (e ? [`${e.detection_oid} ${e.geographical_location_oid} ${e.item_name}`] : []));
    expect(stored).toEqual(expected);
  });

  it("presents the token from SIGHTLINE_TOKEN, and stops with a failure when the service refuses it", async () => {
    const guarded = await startService(
      loadConfig({ SIGHTLINE_LOCAL: "true", PORT: "0", HOST: "127.0.0.1", SIGHTLINE_DB: path.join(dir, "guarded.duckdb"), AUTH_TOKENS: "camera-secret", LOG_LEVEL: "silent" })
    );
    const saved = process.env.SIGHTLINE_TOKEN;
    try {
      const args = ["--url", guarded.url, "--rate", "500", "--duration", "0.5", "--batch-size", "100"];
      delete process.env.SIGHTLINE_TOKEN;
      const refused = await simulateCli(args);
      expect(refused.err).toMatch(/simulate: 401 from .*bearer token/);
      expect(refused.out).toMatch(/duration .* stopped: the service refused the first requests/);
      expect(refused.out).toMatch(/ack latency\s+n\/a/);
      expect(refused.code).toBe(1);

      process.env.SIGHTLINE_TOKEN = "camera-secret";
      const accepted = await simulateCli(args);
      expect(accepted.err).not.toContain("401");
      expect(accepted.out).toMatch(/^sent\s+250\s/m);
      expect(accepted.code).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.SIGHTLINE_TOKEN;
      else process.env.SIGHTLINE_TOKEN = saved;
      await guarded.close();
    }
  });
});
