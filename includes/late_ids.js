// Collision checks look a run's detection ids up in the target in two parts: its `late` smallest ids
// one by one (copies re-sent late), the rest as one narrow id range (recent ids). Without the split,
// one copy re-sent hours late stretches the range, and the rows every run reads, back over hours.
// Portable SQL: the same in BigQuery and DuckDB.

// The smallest id of the recent part: the smallest of `ids` (a query of one column, detection_oid)
// once its `late` smallest distinct ids are set aside; `fallback` (the smallest id) when there are no
// more ids than that, so every id is then in the recent part.
function recentMin(ids, late, fallback) {
  return `select coalesce((
      select detection_oid from (select distinct detection_oid from (${ids}) as run_ids) as distinct_ids
      order by detection_oid
      limit 1 offset ${late}), ${fallback})`;
}

// Rows of `from` (matching `where`) whose detection_oid is one of the ids of the CTE `candidates`, in
// the two parts: the recent ids within [recentMin, max], the late ones within [min, recentMin).
// `min`, `recentMin` and `max` are SQL expressions (the models' script variables).
function lookUp({ select, from, where, candidates, min, recentMin, max }) {
  return `select ${select}
       from ${from}
      where ${where}
        and detection_oid between ${recentMin} and ${max}
        and detection_oid in (select detection_oid from ${candidates} where detection_oid >= ${recentMin})
     union all
     select ${select}
       from ${from}
      where ${where}
        and detection_oid >= ${min} and detection_oid < ${recentMin}
        and detection_oid in (select detection_oid from ${candidates} where detection_oid < ${recentMin})`;
}

module.exports = { recentMin, lookUp };
