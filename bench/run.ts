// `npm run bench` runs every benchmark; `npm run bench -- NAME [options]` runs one.
// Each benchmark is a module with `main(args)`; add new ones to this registry.
const benches: Record<string, { about: string; long?: boolean; load: () => Promise<{ main(args: string[]): Promise<void> }> }> = {
  soak: { about: "30-minute soak of the ingest service at 10,000 events/s: RSS stays flat (only when named)", long: true, load: () => import("./soak.ts") },
  ingest: { about: "ingest service: HTTP ceiling, DuckDB sink, PostgreSQL peer, Pub/Sub emulator; events/s, p50/p99, latency at 100k/s", load: () => import("./ingest.ts") },
  freshness: { about: "local stack end to end: event sent → visible in the dashboard's data, CPU and RSS (5 min at 10,000 events/s)", load: () => import("./freshness.ts") },
  "models-peer": { about: "models side by side with a PostgreSQL 15 peer at 1, 10 and 36 M raw rows: full refresh, incremental, peak RSS", load: () => import("./models_peer.ts") },
  report: { about: "write BENCHMARKS.md's measured part and its plots in docs/ from bench-data/ (runs after the others)", load: () => import("./report.ts") },
  models: { about: "per-action detail: full refresh (36 M raw rows) and incremental runs over 1, 2, 4 h of history (only when named)", long: true, load: () => import("./models.ts") },
};

const [name, ...args] = process.argv.slice(2);
if (name === "--help" || name === "-h") {
  for (const [key, bench] of Object.entries(benches)) console.log(`${key.padEnd(12)} ${bench.about}`);
  process.exit(0);
}
// Long runs (the soak) run only when named.
// Every run ends with the report, so BENCHMARKS.md always shows the newest figures.
const selected = name && !name.startsWith("-") ? [name] : Object.keys(benches).filter((key) => !benches[key]!.long && key !== "report");
if (!selected.includes("report") && selected.every((key) => !benches[key]?.long)) selected.push("report");
const rest = name && !name.startsWith("-") ? args : process.argv.slice(2);
for (const key of selected) {
  const bench = benches[key];
  if (!bench) {
    console.error(`unknown benchmark "${key}"; known: ${Object.keys(benches).join(", ")}`);
    process.exit(2);
  }
  console.log(`# bench ${key}`);
  await (await bench.load()).main(rest);
}
