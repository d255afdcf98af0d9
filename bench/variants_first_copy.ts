// Full-refresh dedup of the raw table two ways, each in a transaction rolled back (behind proposal 4 in
// BENCHMARKS.md): the window the model uses (QUALIFY row_number) and a grouped arg_min.
//   node bench/variants_first_copy.ts DB
import { openDatabase } from "../runner/database.ts";

const db = await openDatabase(process.argv[2]!);
const c = db.connection;
const raw = `select *, epoch_ms(timestamp_detected) as detected_at from detections_raw.raw_detection_events`;
const variants: Record<string, string> = {
  qualifyRowNumber: `select * from (${raw}) where true
    qualify row_number() over (partition by detection_oid order by publish_time, message_id) = 1`,
  argMin: `select detection_oid, unnest(first) from (
      select detection_oid,
             arg_min(struct_pack(message_id, publish_time, video_camera_oid, geographical_location_oid, item_name, timestamp_detected, detected_at),
                     struct_pack(publish_time, message_id)) as first
      from (${raw}) group by detection_oid)`,
};
for (const [name, query] of Object.entries(variants)) {
  await c.run("begin transaction");
  const started = performance.now();
  await c.run(`create table detections.first_copies_variant as ${query}`);
  const ms = performance.now() - started;
  const n = (await c.runAndReadAll("select count(*) as n from detections.first_copies_variant")).getRowObjectsJS()[0]!.n;
  console.log(`${name}: ${Math.round(ms)} ms, ${n} rows`);
  await c.run("rollback");
}
db.close();
