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

module.exports = { recentMin };
