-- A dispatch batch's due calls against their destinations' attempt caps, in one statement: per call, the
-- claims of it that were dialed (this campaign's cap) and its destination's dials since its zone set's
-- local midnight across the workspace, plus claims of it reserved and not yet dialed (the day cap). Each
-- destination is first try-locked for the batch's transaction: two batches of one workspace run at once
-- on this store, and one must not count while another reserves the same destination; a call whose
-- destination another batch holds comes back with ours = false and waits for the next batch.
WITH due AS MATERIALIZED (
    SELECT c.id, c.zone, c.to_e164,
           COALESCE((%(starts)s::timestamptz[])[c.zone + 1], (%(starts)s::timestamptz[])[1]) AS day_start,
           pg_try_advisory_xact_lock(%(dest_ns)s, hashtext(c.to_e164)) AS ours
      FROM {call} AS c
     WHERE c.id = ANY(%(ids)s::bigint[])
)
SELECT d.id, d.ours, CASE WHEN d.zone < cardinality(%(starts)s::timestamptz[]) THEN d.zone ELSE 0 END,
       (SELECT count(*) FROM {attempt} AS a WHERE a.call_id = d.id AND a.dialed),
       (SELECT count(*) FROM {attempt} AS a
         WHERE a.workspace_id = %(ws)s AND a.to_e164 = d.to_e164 AND a.dialed AND a.at >= d.day_start)
     + (SELECT count(*) FROM {call} AS r
         WHERE r.state = %(reserved)s AND r.workspace_id = %(ws)s AND r.to_e164 = d.to_e164)
  FROM due AS d
