-- Per number its newest attempts since a time, at most `keep` of them: what the pacer's log holds.
SELECT e164, at_ms FROM (
  SELECT e164, at_ms, row_number() OVER (PARTITION BY e164 ORDER BY at_ms DESC) AS newest
    FROM {attempt} WHERE workspace_id = %(ws)s AND at_ms >= %(since_ms)s
) kept WHERE newest <= %(keep)s
