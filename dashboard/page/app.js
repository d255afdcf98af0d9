// The dashboard page: polls the read-only API every 3 s and updates figures and charts in place (the
// charts are created once and only their data changes, so nothing flickers). A plain ES module with no
// build step; Chart.js is served by the same server (classic deferred script, loaded before this module).
const REFRESH_MS = 3000;
const PAGE_SIZE = 25;

const state = {
  /** The location the user picked (its oid as a string), or null to follow the busiest one. */
  picked: null,
  /** The location whose top items are shown. */
  shown: null,
  search: "",
  offset: 0,
  window: "last24h",
  overview: null,
  refreshes: 0,
};
/** Every response is tagged with its request's number: a slow, older answer never overwrites a newer one. */
const latest = { top: 0, locations: 0 };
let sequence = 0;

const $ = (selector) => document.querySelector(selector);
const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

// Formatting: fixed locale, so figures read the same on every machine (and in tests).
const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const count = (n) => (n === null || n === undefined ? "–" : integer.format(n));
const percent = (r) => (r === null || r === undefined ? "–" : `${(r * 100).toFixed(2)}%`);
const twoDigits = (n) => String(n).padStart(2, "0");
const clock = (ms) => {
  const d = new Date(ms);
  return `${twoDigits(d.getHours())}:${twoDigits(d.getMinutes())}:${twoDigits(d.getSeconds())}`;
};
const hourLabel = (ms) => `${twoDigits(new Date(ms).getHours())}:00`;

function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

function behind(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  return duration(seconds * 1000);
}

/** "4 / 26 ms", "1.2 / 3.4 s": one unit for the pair when it fits, so the tile stays on one line. */
function lagText(p50, p95) {
  if (p50 === null || p95 === null) return "–";
  if (p95 < 1000) return `${Math.round(p50)} / ${Math.round(p95)} ms`;
  if (p95 < 120_000) return `${(p50 / 1000).toFixed(1)} / ${(p95 / 1000).toFixed(1)} s`;
  return `${duration(p50)} / ${duration(p95)}`;
}

async function getJson(url) {
  const response = await fetch(url, { cache: "no-store", headers: { accept: "application/json" } });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(`${url}: ${response.status}${body.error ? ` ${body.error}` : ""}`);
  }
  return response.json();
}

/** Sets a figure's text only when it changed, with a brief highlight on numbers that moved. */
function setText(testid, text, { highlight = false } = {}) {
  const element = byTestId(testid);
  if (!element || element.textContent === text) return;
  const before = element.textContent;
  element.textContent = text;
  if (highlight && before !== "–") {
    element.classList.remove("changed");
    void element.offsetWidth; // restarts the animation
    element.classList.add("changed");
  }
}

// ---------------------------------------------------------------------------------------------------
// Charts: created once, their data replaced in place on every refresh.

const INDIGO = "#4f46e5";
const INDIGO_SOFT = "#a5b4fc";
const TEAL = "#0d9488";
let realtimeChart = null;
let hourlyChart = null;
/** The locations behind the real-time bars, in bar order. */
let barLocations = [];

const truncate = (text, length) => (text.length > length ? `${text.slice(0, length - 1)}…` : text);

function createCharts() {
  if (realtimeChart || !window.Chart) return;
  const Chart = window.Chart;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#64748b";
  Chart.defaults.plugins.tooltip.backgroundColor = "#0f172a";
  Chart.defaults.plugins.tooltip.padding = 10;
  Chart.defaults.plugins.tooltip.cornerRadius = 8;

  realtimeChart = new Chart($("#realtime-chart"), {
    type: "bar",
    data: { labels: [], datasets: [{ label: "detections", data: [], backgroundColor: [], borderRadius: 6, borderSkipped: false, maxBarThickness: 22 }] },
    options: {
      indexAxis: "y",
      maintainAspectRatio: false,
      animation: { duration: 400 },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { title: (items) => barLocations[items[0].dataIndex]?.name ?? "", label: (item) => ` ${count(item.raw)} detections` } },
      },
      scales: {
        x: { beginAtZero: true, grid: { color: "#eef1f7" }, border: { display: false }, ticks: { precision: 0 } },
        y: { grid: { display: false }, border: { display: false }, ticks: { callback: (_value, index) => truncate(barLocations[index]?.name ?? "", 30) } },
      },
      onClick: (_event, elements) => {
        const location = elements.length > 0 ? barLocations[elements[0].index] : undefined;
        if (location) pick(String(location.oid));
      },
      onHover: (event, elements) => {
        event.native.target.style.cursor = elements.length > 0 ? "pointer" : "default";
      },
    },
  });

  hourlyChart = new Chart($("#hourly-chart"), {
    type: "line",
    data: {
      labels: [],
      datasets: [
        {
          label: "detections",
          data: [],
          borderColor: INDIGO,
          borderWidth: 2.5,
          pointRadius: 0,
          pointHoverRadius: 5,
          pointBackgroundColor: INDIGO,
          tension: 0.35,
          fill: true,
          // A gradient needs the chart's area, known only once it is laid out.
          backgroundColor: (context) => {
            const area = context.chart.chartArea;
            if (!area) return "rgb(79 70 229 / 0.12)";
            const gradient = context.chart.ctx.createLinearGradient(0, area.top, 0, area.bottom);
            gradient.addColorStop(0, "rgb(79 70 229 / 0.28)");
            gradient.addColorStop(1, "rgb(79 70 229 / 0.02)");
            return gradient;
          },
        },
      ],
    },
    options: {
      maintainAspectRatio: false,
      animation: { duration: 400 },
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (item) => ` ${count(item.raw)} detections` } },
      },
      scales: {
        y: { beginAtZero: true, grid: { color: "#eef1f7" }, border: { display: false }, ticks: { precision: 0 } },
        x: { grid: { display: false }, border: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
      },
    },
  });
}

function renderCharts(overview) {
  createCharts();
  if (!realtimeChart) return;
  barLocations = overview.realtime.locations;
  const bars = realtimeChart.data;
  bars.labels = barLocations.map((l) => l.name);
  bars.datasets[0].data = barLocations.map((l) => l.detections);
  bars.datasets[0].backgroundColor = barLocations.map((l) => (String(l.oid) === state.shown ? TEAL : state.shown === null ? INDIGO : INDIGO_SOFT));
  realtimeChart.update();

  const line = hourlyChart.data;
  line.labels = overview.hourly.map((h) => hourLabel(h.hour));
  line.datasets[0].data = overview.hourly.map((h) => h.detections);
  hourlyChart.update();

  $("#realtime-empty").hidden = barLocations.length > 0;
  $("#hourly-empty").hidden = overview.hourly.some((h) => h.detections > 0);
}

// ---------------------------------------------------------------------------------------------------
// Figures.

function renderQuality() {
  const overview = state.overview;
  if (!overview) return;
  const q = overview.quality[state.window];
  setText("duplicate-rate", percent(q.duplicateRate), { highlight: true });
  setText("conflicting", `${count(q.duplicateCopies)} copies · ${count(q.conflictingDuplicates)} conflicting`);
  setText("invalid-rate", percent(q.invalidRate), { highlight: true });
  setText("invalid-count", `${count(q.invalidEvents)} rejected of ${count(q.invalidEvents + q.eventsReceived)}`);
  setText("unknown-locations", count(q.unknownLocationEvents), { highlight: true });
  setText("lag", lagText(q.lagP50Ms, q.lagP95Ms), { highlight: true });
  const worst = q.hours > 1 && q.worstLagP95Ms !== null && q.worstLagP95Ms !== q.lagP95Ms ? ` · worst hour p95 ${duration(q.worstLagP95Ms)}` : "";
  setText("lag-note", q.lagHour === null ? "published − detected" : `published − detected, hour of ${hourLabel(q.lagHour)}${worst}`);
  for (const button of document.querySelectorAll("[data-window]")) button.setAttribute("aria-pressed", String(button.dataset.window === state.window));
}

function renderRun(run) {
  const chip = $("#last-run");
  if (!run) {
    chip.textContent = "waiting for the first model run…";
    chip.className = "chip run";
    chip.title = "";
    return;
  }
  const assertions = run.assertionsPassed + run.assertionsFailed;
  if (run.ok) {
    chip.textContent = `last run ${clock(run.startedAt)} · ${duration(run.durationMs)} · ${run.assertionsPassed}/${assertions} assertions passed`;
  } else {
    const names = run.failures.map((f) => f.name.split(".").pop());
    const shown = names.slice(0, 3).join(", ") + (names.length > 3 ? ` and ${names.length - 3} more` : "");
    chip.textContent = `last run ${clock(run.startedAt)} failed${shown ? `: ${shown}` : ""}`;
  }
  chip.className = `chip run ${run.ok ? "ok" : "failed"}`;
  chip.title = [
    `started ${new Date(run.startedAt).toLocaleString()}, took ${duration(run.durationMs)}${run.compiled ? " (recompiled)" : ""}`,
    `${count(run.rowsChanged)} rows changed; ${run.assertionsPassed} assertions passed, ${run.assertionsFailed} failed`,
    ...run.failures.map((f) => `✗ ${f.name}: ${f.error ?? "failed"}`),
  ].join("\n");
}

function renderOverview(overview) {
  state.overview = overview;
  const live = overview.realtime;
  setText("realtime-total", count(live.total), { highlight: false });
  setText("realtime-locations", live.total > 0 ? `at ${count(live.locationCount)} locations · live` : "distinct detections at known locations, live");
  setText("detections-24h", count(overview.totals.last24h), { highlight: true });
  setText("locations-24h", `at ${count(overview.totals.locations24h)} locations · as of the last model run`);
  renderQuality();

  const fresh = overview.freshness;
  setText("freshness", behind(fresh.seconds));
  setText("freshness-realtime", behind(fresh.realtimeSeconds));
  setText("freshness-models", behind(fresh.modelsSeconds));
  const pulse = fresh.seconds === null ? "" : fresh.seconds < 60 ? "live" : fresh.seconds < 300 ? "slow" : "stale";
  $("#pulse").className = `pulse ${pulse}`;
  renderRun(overview.lastRun);

  const empty = overview.lastRun === null && live.total === 0 && overview.totals.last24h === 0;
  $("#waiting").hidden = !empty;
}

function renderTop(top, live) {
  setText("top-location", top.name ?? (top.oid === null ? "–" : `location ${top.oid}`));
  const list = byTestId("top-items");
  const max = Math.max(1, ...top.items.map((i) => i.count));
  list.replaceChildren(
    ...top.items.map((i) => {
      const li = document.createElement("li");
      li.dataset.rank = String(i.rank);
      const rank = Object.assign(document.createElement("span"), { className: "rank", textContent: String(i.rank) });
      const name = Object.assign(document.createElement("span"), { className: "item", textContent: i.item, title: i.item });
      const value = Object.assign(document.createElement("span"), { className: "count", textContent: count(i.count) });
      const meter = Object.assign(document.createElement("span"), { className: "meter" });
      meter.style.width = `${(100 * i.count) / max}%`;
      li.append(rank, name, value, meter);
      return li;
    })
  );
  $("#top-empty").hidden = top.items.length > 0;
  $("#top-empty").textContent = top.oid === null ? "No detections yet: top items appear after the first model run." : "No items counted here yet.";
  setText("top-realtime", live ? `${count(live.detections)} detections in the last ${live.minutes} minutes` : "");
  $("#follow").hidden = state.picked === null;
}

function renderLocations(page) {
  const body = byTestId("locations");
  body.replaceChildren(
    ...page.rows.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.oid = String(r.oid);
      tr.tabIndex = 0;
      if (String(r.oid) === state.shown) tr.className = "selected";
      const cells = [
        [r.name, ""],
        [count(r.detectionsThisHour), "n"],
        [count(r.detections24h), "n"],
      ];
      for (const [text, className] of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        if (className) td.className = className;
        tr.append(td);
      }
      const top = document.createElement("td");
      top.className = "top-item";
      top.append(r.topItem, Object.assign(document.createElement("small"), { textContent: `× ${count(r.topItemCount)}` }));
      tr.append(top);
      return tr;
    })
  );
  const last = Math.min(page.offset + page.rows.length, page.total);
  let range;
  if (page.total === 0) range = state.search ? `no location matches “${state.search}”` : "no locations with detections yet";
  else if (page.rows.length === 0) range = `past the last of ${count(page.total)}`;
  else range = `${count(page.offset + 1)}–${count(last)} of ${count(page.total)}`;
  setText("locations-range", range);
  $("#prev").disabled = page.offset === 0;
  $("#next").disabled = page.offset + PAGE_SIZE >= page.total;
}

function markSelection() {
  for (const tr of byTestId("locations").querySelectorAll("tr")) tr.classList.toggle("selected", tr.dataset.oid === state.shown);
  if (realtimeChart) {
    realtimeChart.data.datasets[0].backgroundColor = barLocations.map((l) => (String(l.oid) === state.shown ? TEAL : INDIGO_SOFT));
    realtimeChart.update("none");
  }
}

// ---------------------------------------------------------------------------------------------------
// Loading.

/** Top items of the picked location, else of the busiest one right now (else the server's busiest over 24 h). */
async function loadTop() {
  const ticket = (latest.top = ++sequence);
  const busiest = state.overview?.realtime.locations[0]?.oid;
  const wanted = state.picked ?? (busiest === undefined ? null : String(busiest));
  const top = await getJson(wanted === null ? "/api/top-items" : `/api/top-items?location=${encodeURIComponent(wanted)}`);
  const live = top.oid === null ? null : await getJson(`/api/realtime?location=${encodeURIComponent(String(top.oid))}`);
  if (ticket !== latest.top) return window.__sightline?.top ?? null;
  state.shown = top.oid === null ? null : String(top.oid);
  renderTop(top, live);
  markSelection();
  return { ...top, realtime: live ? live.detections : null };
}

async function loadLocations() {
  const ticket = (latest.locations = ++sequence);
  const params = new URLSearchParams({ q: state.search, offset: String(state.offset), limit: String(PAGE_SIZE) });
  const page = await getJson(`/api/locations?${params}`);
  if (ticket !== latest.locations) return window.__sightline?.locations ?? null;
  renderLocations(page);
  return page;
}

function showError(error) {
  const banner = $("#error");
  if (error) banner.textContent = `Cannot read the dashboard's data (${error.message}). Retrying every ${REFRESH_MS / 1000} s.`;
  banner.hidden = !error;
}

let timer;
async function refresh() {
  clearTimeout(timer);
  // Nobody is looking: skip the queries, catch up when the tab shows again.
  if (document.hidden) {
    timer = setTimeout(refresh, REFRESH_MS);
    return;
  }
  try {
    const overview = await getJson("/api/overview");
    renderOverview(overview);
    const top = await loadTop();
    renderCharts(overview);
    const locations = await loadLocations();
    state.refreshes += 1;
    // For tests and the curious: the data behind what is on screen.
    window.__sightline = { overview, top, locations, refreshes: state.refreshes, refreshedAt: Date.now() };
    showError(null);
  } catch (error) {
    showError(error);
  } finally {
    timer = setTimeout(refresh, REFRESH_MS);
  }
}

async function pick(oid) {
  state.picked = oid;
  state.shown = oid;
  markSelection();
  try {
    window.__sightline.top = await loadTop();
  } catch (error) {
    showError(error);
  }
}

async function reloadLocations() {
  try {
    window.__sightline.locations = await loadLocations();
  } catch (error) {
    showError(error);
  }
}

// ---------------------------------------------------------------------------------------------------
// Wiring.

let searchTimer;
$("#search").addEventListener("input", (event) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    state.search = event.target.value.trim();
    state.offset = 0;
    void reloadLocations();
  }, 200);
});
$("#prev").addEventListener("click", () => {
  state.offset = Math.max(0, state.offset - PAGE_SIZE);
  void reloadLocations();
});
$("#next").addEventListener("click", () => {
  state.offset += PAGE_SIZE;
  void reloadLocations();
});
const table = byTestId("locations");
table.addEventListener("click", (event) => {
  const row = event.target.closest("tr[data-oid]");
  if (row) void pick(row.dataset.oid);
});
table.addEventListener("keydown", (event) => {
  const row = event.target.closest("tr[data-oid]");
  if (row && (event.key === "Enter" || event.key === " ")) {
    event.preventDefault();
    void pick(row.dataset.oid);
  }
});
$("#follow").addEventListener("click", () => {
  state.picked = null;
  void loadTop().then((top) => (window.__sightline.top = top), showError);
});
for (const button of document.querySelectorAll("[data-window]")) {
  button.addEventListener("click", () => {
    state.window = button.dataset.window;
    renderQuality();
  });
}
document.addEventListener("visibilitychange", () => {
  if (!document.hidden) void refresh();
});

window.__sightline = { overview: null, top: null, locations: null, refreshes: 0, refreshedAt: null };
void refresh();
