// The dashboard page in real headless Chromium, served by the dashboard's handler over a warehouse
// with known data: the figures on screen equal what the raw copies imply (fixture.ts, plain
// TypeScript), clicking and searching work, charts update in place, the page logs no errors, asks
// nothing of any host but this one, and copes with an empty warehouse. Leaves a screenshot.
import { existsSync } from "node:fs";
import { copyFile, mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboard, type Dashboard } from "../../dashboard/server.ts";
import type { Overview } from "../../dashboard/queries.ts";
import { createWarehouse, type TestWarehouse } from "../support/warehouse.ts";
import { AWKWARD_NAMES, buildFixture, expected, type Fixture } from "./fixture.ts";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = path.join(import.meta.dirname, "..", "..");
const HAS_CHROMIUM = existsSync(CHROMIUM);
if (!HAS_CHROMIUM) {
  console.warn(`\n*** SKIPPING test/dashboard/browser.test.ts: no Chromium at ${CHROMIUM} (apt-get install chromium) ***\n`);
}

const digits = (text: string | null) => Number((text ?? "").replace(/[^0-9.]/g, ""));
const percent = (rate: number | null) => (rate === null ? "–" : `${(rate * 100).toFixed(2)}%`);

interface Window {
  __sightline: { overview: Overview | null; top: { oid: number | string | null } | null; refreshes: number };
  Chart: { getChart(canvas: HTMLCanvasElement): { id: number; data: { datasets: Array<{ data: number[] }> } } | undefined };
}
declare const window: Window;
declare const document: { querySelector(selector: string): HTMLCanvasElement };
interface HTMLCanvasElement {
  readonly width: number;
}

interface Served {
  dashboard: Dashboard;
  server: Server;
  url: string;
}

async function serve(warehouse: TestWarehouse): Promise<Served> {
  const dashboard = createDashboard({ database: warehouse.db });
  const server = createServer((req, res) => void dashboard.handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { dashboard, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stop(served: Served | undefined): Promise<void> {
  if (!served) return;
  await new Promise<void>((resolve) => served.server.close(() => resolve()));
  served.dashboard.close();
}

/** A page that records console errors, uncaught exceptions and any request to another host. */
async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[]; foreign: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, locale: "en-US", timezoneId: "UTC" });
  const errors: string[] = [];
  const foreign: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") errors.push(`${message.type()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("request", (request) => {
    const target = new URL(request.url());
    if (target.protocol !== "data:" && target.host !== new URL(url).host) foreign.push(request.url());
  });
  await page.goto(`${url}/`);
  return { page, errors, foreign };
}

const refreshes = (page: Page) => page.evaluate(() => window.__sightline.refreshes);
const loadedOverview = (page: Page) => page.evaluate(() => window.__sightline.overview!);
const text = async (page: Page, testid: string) => page.textContent(`[data-testid="${testid}"]`);

describe.skipIf(!HAS_CHROMIUM)("the dashboard page in Chromium", () => {
  let browser: Browser;
  let fixture: Fixture;
  let served: Served;
  let page: Page;
  let errors: string[];
  let foreign: string[];

  beforeAll(async () => {
    [browser, fixture] = await Promise.all([chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] }), buildFixture({ seed: 5 })]);
    served = await serve(fixture.warehouse);
    ({ page, errors, foreign } = await openPage(browser, served.url));
    await page.waitForFunction(() => window.__sightline.refreshes >= 1, null, { timeout: 30_000 });
  });
  afterAll(async () => {
    await browser?.close();
    await stop(served);
    await fixture?.warehouse.close();
  });

  it("shows the real-time total, the 24-hour total and the quality tiles the raw data implies", async () => {
    const overview = await loadedOverview(page);
    const want = expected(fixture, new Date(overview.generatedAt));
    expect(want.realtime.total).toBeGreaterThan(200);
    expect(digits(await text(page, "realtime-total"))).toBe(want.realtime.total);
    expect(digits(await text(page, "detections-24h"))).toBe(want.totals.last24h);
    expect(await text(page, "duplicate-rate")).toBe(percent(want.quality.last24h.duplicateRate));
    expect(await text(page, "invalid-rate")).toBe(percent(want.quality.last24h.invalidRate));
    expect(digits(await text(page, "unknown-locations"))).toBe(want.quality.last24h.unknownLocationEvents);
    expect(await text(page, "last-run")).toMatch(/^last run \d\d:\d\d:\d\d · .* · \d+\/\d+ assertions passed$/);
    expect(digits(await text(page, "freshness"))).toBeLessThan(120);
    expect(await page.isVisible('[data-testid="waiting"]')).toBe(false);

    // The quality window switches to this hour, and back.
    await page.click('[data-window="lastHour"]');
    expect(await text(page, "duplicate-rate")).toBe(percent(want.quality.lastHour.duplicateRate));
    expect(digits(await text(page, "unknown-locations"))).toBe(want.quality.lastHour.unknownLocationEvents);
    await page.click('[data-window="last24h"]');
    expect(await text(page, "duplicate-rate")).toBe(percent(want.quality.last24h.duplicateRate));
  });

  it("draws the busiest locations and the hourly trend, and updates the charts in place", async () => {
    const chartOf = (selector: string) =>
      page.evaluate((s) => {
        const chart = window.Chart.getChart(document.querySelector(s))!;
        return { id: chart.id, data: chart.data.datasets[0]!.data, width: document.querySelector(s).width };
      }, selector);
    const before = { bars: await chartOf("#realtime-chart"), line: await chartOf("#hourly-chart") };
    const overview = await loadedOverview(page);
    const want = expected(fixture, new Date(overview.generatedAt));
    expect(before.bars.data).toEqual(want.realtime.locations.map((l) => l.detections));
    expect(before.line.data).toEqual(want.hourly.map((h) => h.detections));
    expect(before.bars.width).toBeGreaterThan(300);
    const seen = await refreshes(page);
    await page.waitForFunction((n) => window.__sightline.refreshes > n, seen, { timeout: 15_000 });
    // Same Chart objects after a refresh: data replaced, charts never rebuilt.
    expect((await chartOf("#realtime-chart")).id).toBe(before.bars.id);
    expect((await chartOf("#hourly-chart")).id).toBe(before.line.id);
  });

  it("shows the busiest location's top items, and a clicked row's", async () => {
    const overview = await loadedOverview(page);
    const busiest = overview.realtime.locations[0]!;
    const want = expected(fixture, new Date(overview.generatedAt));
    const topItems = () => page.$$eval('[data-testid="top-items"] li', (items) => items.map((li) => ({ item: li.querySelector(".item")!.textContent, count: Number(li.querySelector(".count")!.textContent!.replace(/,/g, "")) })));
    expect(await text(page, "top-location")).toBe(busiest.name);
    expect(await topItems()).toEqual(want.topItems(BigInt(busiest.oid)).map(({ item, count }) => ({ item, count })));
    expect(await text(page, "top-realtime")).toBe(`${want.realtimeAt(BigInt(busiest.oid)).toLocaleString("en-US")} detections in the last 5 minutes`);

    // The table: busiest over 24 hours first.
    const firstRow = await page.$$eval('[data-testid="locations"] tr:first-child td', (cells) => cells.map((c) => c.textContent));
    expect(firstRow[0]).toBe(want.table[0]!.name);
    expect(digits(firstRow[1]!)).toBe(want.table[0]!.detectionsThisHour);
    expect(digits(firstRow[2]!)).toBe(want.table[0]!.detections24h);
    expect(await text(page, "locations-range")).toBe(`1–25 of ${want.table.length}`);

    // Picking the third row shows its top items, and keeps showing them across refreshes.
    const third = want.table[2]!;
    await page.click('[data-testid="locations"] tr:nth-child(3)');
    await expect.poll(() => text(page, "top-location"), { timeout: 10_000 }).toBe(third.name);
    expect(await topItems()).toEqual(want.topItems(BigInt(third.oid)).map(({ item, count }) => ({ item, count })));
    expect(await page.getAttribute('[data-testid="locations"] tr:nth-child(3)', "class")).toBe("selected");
    const seen = await refreshes(page);
    await page.waitForFunction((n) => window.__sightline.refreshes > n, seen, { timeout: 15_000 });
    expect(await text(page, "top-location")).toBe(third.name);
    // And back to following the busiest.
    await page.click("#follow");
    await expect.poll(() => text(page, "top-location"), { timeout: 10_000 }).toBe(busiest.name);
  });

  it("searches locations by name, literally", async () => {
    const names = () => page.$$eval('[data-testid="locations"] tr td:first-child', (cells) => cells.map((c) => c.textContent));
    const want = expected(fixture);
    await page.fill('[data-testid="search"]', "lisbon");
    const lisbon = want.search("lisbon").map((r) => r.name);
    expect(lisbon.length).toBeGreaterThan(1);
    await expect.poll(() => text(page, "locations-range"), { timeout: 10_000 }).toBe(`1–${lisbon.length} of ${lisbon.length}`);
    expect(await names()).toEqual(lisbon);
    for (const [q, name] of [["'; drop table x; --", AWKWARD_NAMES.injection], ["%", AWKWARD_NAMES.percent], ["_", AWKWARD_NAMES.underscore]] as const) {
      await page.fill('[data-testid="search"]', q);
      await expect.poll(() => text(page, "locations-range"), { timeout: 10_000 }).toBe("1–1 of 1");
      expect(await names(), q).toEqual([name]);
    }
    await page.fill('[data-testid="search"]', "%' or 1=1 --");
    await expect.poll(() => text(page, "locations-range"), { timeout: 10_000 }).toBe("no location matches “%' or 1=1 --”");
    expect(await names()).toEqual([]);
    await page.fill('[data-testid="search"]', "");
    await expect.poll(() => text(page, "locations-range"), { timeout: 10_000 }).toBe(`1–25 of ${want.table.length}`);
  });

  it("pages through the table", async () => {
    const want = expected(fixture);
    await page.click("#next");
    await expect.poll(() => text(page, "locations-range"), { timeout: 10_000 }).toBe(`26–${Math.min(50, want.table.length)} of ${want.table.length}`);
    expect(await page.textContent('[data-testid="locations"] tr:first-child td')).toBe(want.table[25]!.name);
    await page.click("#prev");
    await expect.poll(() => text(page, "locations-range"), { timeout: 10_000 }).toBe(`1–25 of ${want.table.length}`);
  });

  it("stays on this host, logs no errors, and leaves a screenshot", async () => {
    const seen = await refreshes(page);
    await page.waitForFunction((n) => window.__sightline.refreshes > n, seen, { timeout: 15_000 });
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
    await page.evaluate(() => window.scrollTo(0, 0));
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

  it("welcomes an empty warehouse with a waiting state, not errors", async () => {
    const empty = await createWarehouse();
    const emptyServed = await serve(empty);
    try {
      const opened = await openPage(browser, emptyServed.url);
      await opened.page.waitForFunction(() => window.__sightline.refreshes >= 1, null, { timeout: 30_000 });
      expect(await opened.page.isVisible('[data-testid="waiting"]')).toBe(true);
      expect(await opened.page.isVisible('[data-testid="realtime-empty"]')).toBe(true);
      expect(await text(opened.page, "realtime-total")).toBe("0");
      expect(await text(opened.page, "duplicate-rate")).toBe("–");
      expect(await text(opened.page, "last-run")).toBe("waiting for the first model run…");
      expect(await text(opened.page, "locations-range")).toBe("no locations with detections yet");
      expect(await opened.page.isVisible('[data-testid="error"]')).toBe(false);
      await opened.page.screenshot({ path: path.join(ROOT, "test", "artifacts", "dashboard-empty.png"), fullPage: true });
      expect(opened.errors).toEqual([]);
      expect(opened.foreign).toEqual([]);
      await opened.page.close();
    } finally {
      await stop(emptyServed);
      await empty.close();
    }
  });
});
