// The dashboard page: polls the read-only API every few seconds and updates figures and charts in
// place (no flicker, no re-creation). Plain ES module, no build step; Chart.js comes from the server.
const REFRESH_MS = 3000;
const PAGE_SIZE = 25;
const state = { selected: null, search: "", offset: 0, total: 0, refreshes: 0 };
const $ = (selector) => document.querySelector(selector);
const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const count = (n) => (n === null || n === undefined ? "–" : integer.format(n));
const percent = (r) => (r === null || r === undefined ? "–" : `${(r * 100).toFixed(2)}%`);
const duration = (ms) => (ms === null || ms === undefined ? "–" : ms < 1000 ? `${Math.round(ms)} ms` : ms < 120000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60000)} min`);
const behind = (s) => (s === null || s === undefined ? "–" : `${s < 10 ? s.toFixed(1) : Math.round(s)} s`);
const clock = (ms) => new Date(ms).toISOString().slice(11, 19);

/** "4 / 26 ms", "1.2 / 3.4 s": one unit for the pair when it fits, so the tile stays on one line. */
function lagText(p50, p95) {
  if (p50 === null || p95 === null) return "–";
  if (p95 < 1000) return `${Math.round(p50)} / ${Math.round(p95)} ms`;
  if (p95 < 120000) return `${(p50 / 1000).toFixed(1)} / ${(p95 / 1000).toFixed(1)} s`;
  return `${duration(p50)} / ${duration(p95)}`;
}

async function getJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${(await response.json().catch(() => ({}))).error ?? ""}`);
  return response.json();
}

function setText(testid, text) {
  const element = document.querySelector(`[data-testid="${testid}"]`);
  if (element.textContent !== text) element.textContent = text;
}

let realtimeChart;
let hourlyChart;
function charts() {
  if (realtimeChart || !window.Chart) return;
  const Chart = window.Chart;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#64748b";
  realtimeChart = new Chart($("#realtime-chart"), {
    type: "bar",
    data: { labels: [], datasets: [{ label: "detections", data: [], backgroundColor: "#4f46e5", borderRadius: 4 }] },
    options: {
      indexAxis: "y",
      maintainAspectRatio: false,
      animation: { duration: 300 },
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, grid: { color: "#eef2f7" } }, y: { grid: { display: false } } },
      onClick: (_event, elements) => {
        if (elements.length === 0) return;
        const location = realtimeChart.$locations?.[elements[0].index];
        if (location) select(location.oid);
      },
    },
  });
  hourlyChart = new Chart($("#hourly-chart"), {
    type: "bar",
    data: { labels: [], datasets: [{ label: "detections", data: [], backgroundColor: "#14b8a6", borderRadius: 4 }] },
    options: {
      maintainAspectRatio: false,
      animation: { duration: 300 },
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, grid: { color: "#eef2f7" } }, x: { grid: { display: false } } },
    },
  });
}

function renderOverview(o) {
  setText("realtime-total", count(o.realtime.total));
  setText("detections-24h", count(o.totals.last24h));
  setText("locations-24h", `at ${count(o.totals.locations24h)} locations, as of the last model run`);
  setText("duplicate-rate", percent(o.quality.duplicateRate));
  setText("conflicting", `${count(o.quality.duplicateCopies)} copies, ${count(o.quality.conflictingDuplicates)} conflicting`);
  setText("invalid-rate", percent(o.quality.invalidRate));
  setText("invalid-count", `${count(o.quality.invalidEvents)} rejected of ${count(o.quality.invalidEvents + o.quality.eventsReceived)}`);
  setText("unknown-locations", count(o.quality.unknownLocationEvents));
  setText("lag", lagText(o.quality.lagP50Ms, o.quality.lagP95Ms));
  setText("freshness-realtime", behind(o.freshness.realtimeSeconds));
  setText("freshness-models", behind(o.freshness.modelsSeconds));

  const run = o.lastRun;
  const chip = $("#last-run");
  if (run) {
    const failures = run.failures.map((f) => f.name.split(".").pop()).join(", ");
    chip.textContent = run.ok
      ? `last run ${clock(run.startedAt)} · ${duration(run.durationMs)} · ${run.assertionsPassed}/${run.assertionsPassed + run.assertionsFailed} assertions passed`
      : `last run ${clock(run.startedAt)} FAILED${failures ? `: ${failures}` : ""}`;
    chip.title = run.failures.map((f) => `${f.name}: ${f.error ?? ""}`).join("\n");
    chip.className = `chip run ${run.ok ? "ok" : "failed"}`;
  }
  const fresh = o.freshness.realtimeSeconds !== null && o.freshness.realtimeSeconds < 60;
  $("#pulse").className = `pulse ${fresh ? "live" : o.freshness.realtimeSeconds === null ? "" : "stale"}`;

  charts();
  if (realtimeChart) {
    realtimeChart.$locations = o.realtime.locations;
    realtimeChart.data.labels = o.realtime.locations.map((l) => l.name);
    realtimeChart.data.datasets[0].data = o.realtime.locations.map((l) => l.detections);
    realtimeChart.update();
    hourlyChart.data.labels = o.hourly.map((h) => `${clock(h.hour).slice(0, 5)}`);
    hourlyChart.data.datasets[0].data = o.hourly.map((h) => h.detections);
    hourlyChart.update();
  }
  $("#realtime-empty").hidden = o.realtime.locations.length > 0;
}

function renderTop(top) {
  setText("top-location", top?.name ?? "–");
  const list = $('[data-testid="top-items"]');
  const items = top?.items ?? [];
  const max = Math.max(1, ...items.map((i) => i.count));
  list.replaceChildren(
    ...items.map((i) => {
      const li = document.createElement("li");
      li.dataset.rank = String(i.rank);
      const rank = Object.assign(document.createElement("span"), { className: "rank", textContent: String(i.rank) });
      const name = Object.assign(document.createElement("span"), { className: "item", textContent: i.item });
      const value = Object.assign(document.createElement("span"), { className: "count", textContent: count(i.count) });
      const meter = Object.assign(document.createElement("span"), { className: "meter" });
      meter.style.width = `${(100 * i.count) / max}%`;
      li.append(rank, name, value, meter);
      return li;
    })
  );
  $("#top-empty").hidden = items.length > 0;
  if (!top) setText("top-realtime", "");
}

function renderLocations(page) {
  state.total = page.total;
  const body = $('[data-testid="locations"]');
  body.replaceChildren(
    ...page.rows.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.oid = String(r.oid);
      if (r.oid === state.selected) tr.className = "selected";
      for (const [text, numeric] of [[r.name, false], [count(r.detectionsThisHour), true], [count(r.detections24h), true], [`${r.topItem} (${count(r.topItemCount)})`, false]]) {
        const td = document.createElement("td");
        td.textContent = text;
        if (numeric) td.className = "n";
        tr.append(td);
      }
      tr.addEventListener("click", () => select(r.oid));
      return tr;
    })
  );
  const last = Math.min(state.offset + PAGE_SIZE, page.total);
  setText("locations-range", page.total === 0 ? (state.search ? `no location matches “${state.search}”` : "no locations with detections yet") : `${count(state.offset + 1)}–${count(last)} of ${count(page.total)}`);
  $("#prev").disabled = state.offset === 0;
  $("#next").disabled = last >= page.total;
}

async function loadTop() {
  if (state.selected === null) return renderTop(null);
  const [top, live] = [await getJson(`/api/top-items?location=${state.selected}`), await getJson(`/api/realtime?location=${state.selected}`)];
  renderTop(top);
  setText("top-realtime", `${count(live.detections)} detections in the last ${live.minutes} minutes`);
  return { ...top, realtime: live.detections };
}

async function loadLocations() {
  const params = new URLSearchParams({ q: state.search, offset: String(state.offset), limit: String(PAGE_SIZE) });
  const page = await getJson(`/api/locations?${params}`);
  renderLocations(page);
  return page;
}

async function select(oid) {
  state.selected = oid;
  for (const tr of document.querySelectorAll('[data-testid="locations"] tr')) tr.classList.toggle("selected", tr.dataset.oid === String(oid));
  window.__sightline.top = await loadTop();
}

async function refresh() {
  try {
    const overview = await getJson("/api/overview");
    renderOverview(overview);
    if (state.selected === null && overview.realtime.locations.length > 0) state.selected = overview.realtime.locations[0].oid;
    const [top, locations] = [await loadTop(), await loadLocations()];
    state.refreshes++;
    // For tests and the curious: the data behind what is on screen.
    window.__sightline = { overview, top, locations, refreshes: state.refreshes, refreshedAt: Date.now() };
  } catch (error) {
    $("#last-run").textContent = `dashboard cannot reach the stack: ${error.message}`;
    $("#last-run").className = "chip run failed";
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

let searchTimer;
$("#search").addEventListener("input", (event) => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    state.search = event.target.value.trim();
    state.offset = 0;
    window.__sightline.locations = await loadLocations();
  }, 200);
});
$("#prev").addEventListener("click", async () => {
  state.offset = Math.max(0, state.offset - PAGE_SIZE);
  window.__sightline.locations = await loadLocations();
});
$("#next").addEventListener("click", async () => {
  state.offset += PAGE_SIZE;
  window.__sightline.locations = await loadLocations();
});

window.__sightline = { refreshes: 0 };
// Chart.js loads with `defer`, before this module runs; draw as soon as the DOM is ready.
refresh();
