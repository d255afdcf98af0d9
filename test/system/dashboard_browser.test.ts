// The dashboard in real headless Chromium against a running local stack: after a known stream of
// events, the figures on the page equal what the acknowledged events say they must be (computed here
// in plain TypeScript, not with the dashboard's SQL), the page stays on localhost, logs no errors,
// searches, and leaves a screenshot.
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_STREAM, UNKNOWN_LOCATION_BASE, type SimulatedEvent } from "../../simulate/events.ts";
import { sendStream, type SendSummary } from "../../simulate/sender.ts";
import { startStack, type Stack } from "../../stack/up.ts";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = path.join(import.meta.dirname, "..", "..");
if (!existsSync(CHROMIUM)) console.warn("\n*** SKIPPING the dashboard browser test: /usr/bin/chromium is missing (apt-get install chromium) ***\n");

const digits = (text: string | null) => Number((text ?? "").replace(/[^0-9.]/g, ""));

describe.skipIf(!existsSync(CHROMIUM))("the dashboard in a browser", () => {
  let dir: string;
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  const acknowledged: SimulatedEvent[] = [];
  let summary: SendSummary;
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];
  let names: Map<number, string>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sightline-dashboard-"));
    stack = await startStack({ dbPath: path.join(dir, "sightline.duckdb"), port: 0, host: "127.0.0.1", intervalMs: 1000, simulate: false, memoryLimit: "1GB" });
    // Copies identical to their first copy, so "the first copy wins" needs no publish order here.
    summary = await sendStream(
      { url: stack.url, rate: 5_000, batchSize: 250, concurrency: 4, durationSeconds: 3, stream: { ...DEFAULT_STREAM, locations: 150, duplicateRate: 0.3, conflictRate: 0, unknownRate: 0.05, invalidRate: 0.02, seed: 21, firstOid: 7_000_000 } },
      { onAccepted: (events) => acknowledged.push(...events) }
    );
    // pipeline_quality_hourly closes its publish_time windows late_arrival_seconds (10 s locally)
    // behind the clock: wait for a run that has consumed the whole stream.
    const streamEnd = Date.now();
    while ((await stack.schedule.nextRun()).startedAt.getTime() < streamEnd + 11_000);
    const reader = await stack.database.connection.runAndReadAll("select geographical_location_oid::integer as oid, geographical_location as name from detections_raw.geographical_locations");
    names = new Map(reader.getRowObjectsJS().map((r) => [Number(r.oid), String(r.name)]));

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(error.message));
    page.on("request", (request) => {
      if (new URL(request.url()).hostname !== "127.0.0.1") foreignRequests.push(request.url());
    });
    await page.goto(`${stack.url}/`);
    await page.waitForFunction(() => (globalThis as unknown as { __sightline?: { refreshes: number } }).__sightline!.refreshes >= 1, null, { timeout: 30_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Distinct detections by oid, each as its first acknowledged copy. */
  function detections(): SimulatedEvent[] {
    const first = new Map<number, SimulatedEvent>();
    for (const event of acknowledged) if (!first.has(event.detection_oid)) first.set(event.detection_oid, event);
    return [...first.values()];
  }

  /** The server's clock when it computed what the page shows (late events sit near the window's edge). */
  const shownAt = () => page.evaluate(() => (globalThis as unknown as { __sightline: { overview: { generatedAt: number } } }).__sightline.overview.generatedAt);

  it("shows the real-time total, the 24-hour total and the quality tiles the events imply", async () => {
    const now = await shownAt();
    const unique = detections();
    const known = (e: SimulatedEvent) => e.geographical_location_oid < UNKNOWN_LOCATION_BASE;
    const realtime = unique.filter((e) => known(e) && e.timestamp_detected >= now - 5 * 60_000).length;
    const hourStart = Math.floor(now / 3600_000) * 3600_000;
    const day = unique.filter((e) => e.timestamp_detected >= hourStart - 23 * 3600_000).length;
    expect(realtime).toBeGreaterThan(5_000);

    expect(digits(await page.textContent('[data-testid="realtime-total"]'))).toBe(realtime);
    expect(digits(await page.textContent('[data-testid="detections-24h"]'))).toBe(day);
    const duplicateRate = (acknowledged.length - unique.length) / acknowledged.length;
    expect(await page.textContent('[data-testid="duplicate-rate"]')).toBe(`${(duplicateRate * 100).toFixed(2)}%`);
    const invalidRate = summary.rejected / (summary.rejected + acknowledged.length);
    expect(await page.textContent('[data-testid="invalid-rate"]')).toBe(`${(invalidRate * 100).toFixed(2)}%`);
    expect(digits(await page.textContent('[data-testid="unknown-locations"]'))).toBe(acknowledged.filter((e) => !known(e)).length);
    expect(await page.textContent('[data-testid="last-run"]')).toMatch(/last run .* assertions passed/);
    expect(digits(await page.textContent('[data-testid="freshness-realtime"]'))).toBeLessThan(120);
  });

  it("lists the top items of the busiest location and the locations table as the events imply", async () => {
    const overview = await page.evaluate(() => (globalThis as unknown as { __sightline: { overview: { realtime: { locations: Array<{ oid: number }> } } } }).__sightline.overview);
    const busiest = overview.realtime.locations[0]!.oid;
    const counts = new Map<string, number>();
    for (const e of detections()) if (e.geographical_location_oid === busiest) counts.set(e.item_name, (counts.get(e.item_name) ?? 0) + 1);
    const expectedTop = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
    expect(await page.textContent('[data-testid="top-location"]')).toBe(names.get(busiest));
    const shown = await page.$$eval('[data-testid="top-items"] li', (items) => items.map((li) => [li.querySelector(".item")!.textContent, Number(li.querySelector(".count")!.textContent!.replace(/,/g, ""))]));
    expect(shown).toEqual(expectedTop);
    const now = await shownAt();
    const busiestNow = detections().filter((e) => e.geographical_location_oid === busiest && e.timestamp_detected >= now - 5 * 60_000).length;
    expect(await page.textContent('[data-testid="top-realtime"]')).toBe(`${busiestNow.toLocaleString("en-US")} detections in the last 5 minutes`);

    // The table: locations by detections over 24 h, then by name.
    const perLocation = new Map<number, number>();
    for (const e of detections()) if (e.geographical_location_oid < UNKNOWN_LOCATION_BASE) perLocation.set(e.geographical_location_oid, (perLocation.get(e.geographical_location_oid) ?? 0) + 1);
    const ranked = [...perLocation].sort((a, b) => b[1] - a[1] || (names.get(a[0])! < names.get(b[0])! ? -1 : 1));
    const firstRow = await page.$$eval('[data-testid="locations"] tr:first-child td', (cells) => cells.map((c) => c.textContent));
    expect(firstRow[0]).toBe(names.get(ranked[0]![0]));
    expect(digits(firstRow[2]!)).toBe(ranked[0]![1]);
    expect(await page.textContent('[data-testid="locations-range"]')).toBe(`1–25 of ${perLocation.size}`);
  });

  it("searches locations by name, literally", async () => {
    await page.fill('[data-testid="search"]', "lisbon");
    const expected = [...new Set(detections().filter((e) => e.geographical_location_oid < UNKNOWN_LOCATION_BASE).map((e) => names.get(e.geographical_location_oid)!))].filter((n) => n.toLowerCase().includes("lisbon"));
    expect(expected.length).toBeGreaterThan(0);
    await expect.poll(() => page.textContent('[data-testid="locations-range"]'), { timeout: 10_000 }).toBe(`1–${expected.length} of ${expected.length}`);
    const shown = await page.$$eval('[data-testid="locations"] tr td:first-child', (cells) => cells.map((c) => c.textContent));
    expect([...shown].sort()).toEqual([...expected].sort());
    await page.fill('[data-testid="search"]', "%' or 1=1 --");
    await expect.poll(() => page.textContent('[data-testid="locations-range"]'), { timeout: 10_000 }).toMatch(/^no location matches/);
    await page.fill('[data-testid="search"]', "");
    await expect.poll(() => page.textContent('[data-testid="locations-range"]'), { timeout: 10_000 }).toMatch(/^1–25 of/);
  });

  it("stays on localhost, logs no errors, and leaves a screenshot", async () => {
    await page.waitForFunction(() => (globalThis as unknown as { __sightline: { refreshes: number } }).__sightline.refreshes >= 2, null, { timeout: 30_000 });
    expect(foreignRequests).toEqual([]);
    expect(consoleErrors).toEqual([]);
    const artifacts = path.join(ROOT, "test", "artifacts");
    await mkdir(artifacts, { recursive: true });
    const shot = path.join(artifacts, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(existsSync(shot)).toBe(true);
    const docs = path.join(ROOT, "docs", "dashboard.png");
    if (!existsSync(docs)) {
      await mkdir(path.dirname(docs), { recursive: true });
      await copyFile(shot, docs);
    }
  });
});
