-- The providers' answers to a chunk's dials: dialing -> placed | failed for each call, guarded by its state
-- and claim as every move is, in one statement.
UPDATE {call} AS c
   SET state = v.state, provider_call_id = COALESCE(v.provider_call_id, c.provider_call_id),
       error = v.error, finished_at = v.finished_at, updated_at = v.finished_at
  FROM unnest(%(calls)s::bigint[], %(attempts)s::bigint[], %(states)s::text[], %(sids)s::text[],
              %(errors)s::text[], %(finished)s::timestamptz[])
       AS v(call_id, attempt_id, state, provider_call_id, error, finished_at)
 WHERE c.id = v.call_id AND c.state = %(dialing)s AND c.attempt_id = v.attempt_id
