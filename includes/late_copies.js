// Late copies: rows published more than late_after_seconds after their detection (re-sent copies,
// detections delivered after an outage). Their ids are old, so looking them up in detection_events
// means reading hours of ids; instead of every run doing that for a few of them, they are resolved in
// sweeps, one per late_sweep_seconds slot of publish_time, once the slot has closed (its rows have all
// landed). Every other row is "on time" and is resolved by the run that reads it, within one narrow
// range of recent ids. detection_events keeps the end of the swept slots in int_late_copies_resolved;
// the models that judge copies against detection_events wait for it.
// Portable SQL: the dialect pieces (the `sql` include) are passed in.

// The columns of a copy that detection_events reads (and int_late_copies_waiting keeps).
const COPY_COLUMNS = "message_id, detection_oid, video_camera_oid, geographical_location_oid, item_name, timestamp_detected, detected_at, publish_time";

// SQL that is true for a late row, given its publish_time and detected_at columns.
function isLate(sql, lateAfterSeconds, publishTime = "publish_time", detectedAt = "detected_at") {
  return `(${detectedAt} < ${sql.secondsBefore(publishTime, lateAfterSeconds)})`;
}

// SQL that is true when a run's window of late rows, [resolvedAfter, resolvedUntil), holds anything:
// the run sweeps. Constant for the run, so the warehouse drops the reads it guards on the other runs.
function sweeps(resolvedAfter, resolvedUntil) {
  return `(${resolvedAfter} < ${resolvedUntil})`;
}

// SQL that is true for the rows a run settles: on-time rows published in (after, until] and late rows
// published in [resolvedAfter, resolvedUntil). `late` is isLate()'s SQL. The outer range lets the
// warehouse skip storage blocks by publish_time before it looks at the two cases; it reaches back to
// resolvedAfter only on runs that sweep (most runs sweep nothing, and resolvedAfter trails after by up
// to a late_sweep_seconds slot: up to 5 minutes of rows read for nothing).
function settledIn({ late, publishTime = "publish_time", after, until, resolvedAfter, resolvedUntil }) {
  const from = `case when ${sweeps(resolvedAfter, resolvedUntil)} then least(${after}, ${resolvedAfter}) else ${after} end`;
  return `(${publishTime} >= ${from} and ${publishTime} <= greatest(${until}, ${resolvedUntil})
      and ((not ${late} and ${publishTime} > ${after} and ${publishTime} <= ${until})
        or (${late} and ${publishTime} >= ${resolvedAfter} and ${publishTime} < ${resolvedUntil})))`;
}

// Pre-operations: script variables v_<kind>_oid_min and v_<kind>_oid_max (declared by lookUpVariables),
// the id range of `rows` (a query of detection_oid), constants BigQuery prunes clustered blocks with.
function idRangeAssignments(sql, kind, rows) {
  return ["min", "max"]
    .map((end) => sql.assign(`${kind}_oid_${end}`, "INT64", `select ${end}(detection_oid) from (${rows}) as ${kind}_rows`))
    .join("\n  ");
}

// The DECLAREs of the id ranges lookUpDeclarations assigns, for the start of the script.
function lookUpVariables(sql) {
  return ["recent", "late"].flatMap((kind) => ["min", "max"].map((end) => sql.declareFirst(`${kind}_oid_${end}`, "INT64"))).join("\n  ");
}

// A pre-operation: the distinct ids of the late rows a run sweeps (`lateRows`, a query of
// detection_oid), as a temporary table. Its exact size steers the warehouse to hash the few swept ids
// and stream the target past them: from an estimate, DuckDB hashed hours of the target's ids instead
// (24 h of history: 10 - 100 s and out of memory, against 2 s).
function sweptIdsTable(name, lateRows) {
  return `create or replace temp table ${name} as
  select distinct detection_oid from (${lateRows}) as late_rows;`;
}

// The pre-operations of an incremental run's two lookups: the id range of the on-time rows it reads
// (v_recent_oid_*), and the range (v_late_oid_*) and temporary table `sweptTable` of the late rows it
// sweeps. None on a full refresh, which looks nothing up: its ranges stay NULL, unread, and it is spared
// four passes over the raw table (~0.7 s each at 36 M rows on a 2-core machine).
function lookUpDeclarations(sql, { incremental, onTimeRows, sweptRows, sweptTable }) {
  if (!incremental) return "";
  return [
    idRangeAssignments(sql, "recent", onTimeRows),
    idRangeAssignments(sql, "late", sweptRows),
    sweptIdsTable(sweptTable, sweptRows),
  ].join("\n  ");
}

// Rows of `from` (matching `where`) whose detection_oid is one of the ids of the CTE `candidates`, which
// has an is_late column: its on-time ids within [recent[0], recent[1]]; and the ids of the table
// `swept` (sweptIdsTable) within [late[0], late[1]]. Each part is one id range, so the recent part reads
// only recent storage blocks and the late part (empty on most runs) only runs when a slot is swept.
// UNION DISTINCT: a detection with copies of both kinds is found by both parts.
function lookUp({ select, from, where, candidates, recent, swept, late }) {
  const part = ([min, max], ids) => `select ${select}
       from ${from}
      where ${where}
        and detection_oid between ${min} and ${max}
        and detection_oid in (${ids})`;
  return `${part(recent, `select detection_oid from ${candidates} where not is_late`)}
     union distinct
     ${part(late, `select detection_oid from ${swept}`)}`;
}

// The pre-operations of a model that consumes windows of publish_time and judges rows against
// detection_events: on-time rows in (consumed_after, consumed_until], consumed_until ending
// late_arrival_seconds ago (every row published before has landed and been loaded); late rows in
// [resolved_after, resolved_until), up to where detection_events has swept (never past consumed_until).
// Both ends are kept in the model's own rows (columns consumed_until and resolved_until). On a table
// written before resolved_until existed, late rows up to consumed_until were already counted.
function windowDeclarations(sql, watermarks, { incremental, self, resolvedTable, lateArrivalSeconds }) {
  const newest = (column) => watermarks.newest(column, self);
  return [
    sql.declare("consumed_after", "TIMESTAMP", incremental ? `select coalesce(${newest("consumed_until")}, ${sql.epoch()})` : sql.epoch()),
    sql.declare("consumed_until", "TIMESTAMP", `select ${sql.secondsBefore(sql.now(), lateArrivalSeconds)}`),
    sql.declare("resolved_after", "TIMESTAMP",
      incremental ? `select coalesce(${newest("resolved_until")}, ${sql.variable("consumed_after")})` : sql.epoch()),
    sql.declare("resolved_until", "TIMESTAMP", `select greatest(${sql.variable("resolved_after")},
      least(${sql.variable("consumed_until")}, coalesce((select max(resolved_until) from ${resolvedTable}), ${sql.epoch()})))`),
  ].join("\n  ");
}

module.exports = { COPY_COLUMNS, isLate, sweeps, settledIn, sweptIdsTable, lookUpVariables, lookUpDeclarations, lookUp, windowDeclarations };
