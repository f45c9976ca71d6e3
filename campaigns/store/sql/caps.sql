-- A dispatch batch's due calls against their destinations' attempt caps, in one statement: per call, the
-- claims of it that were dialed (this campaign's cap) and its destination's dials since its zone set's
-- local midnight across the workspace, plus claims of it reserved and not yet marked dialed (the day cap;
-- the ORM store marks a claim just before its call leaves reserved: counted once either way). The
-- destinations were locked by the statement before (lock_destinations.sql).
SELECT c.id, CASE WHEN c.zone < cardinality(%(starts)s::timestamptz[]) THEN c.zone ELSE 0 END,
       (SELECT count(*) FROM {attempt} AS a WHERE a.call_id = c.id AND a.dialed),
       (SELECT count(*) FROM {attempt} AS a
         WHERE a.workspace_id = %(ws)s AND a.to_e164 = c.to_e164 AND a.dialed
           AND a.at >= COALESCE((%(starts)s::timestamptz[])[c.zone + 1], (%(starts)s::timestamptz[])[1]))
     + (SELECT count(*) FROM {call} AS r JOIN {attempt} AS ra ON ra.id = r.attempt_id
         WHERE r.state = %(reserved)s AND r.workspace_id = %(ws)s AND r.to_e164 = c.to_e164 AND NOT ra.dialed)
  FROM {call} AS c
 WHERE c.id = ANY(%(ids)s::bigint[])
