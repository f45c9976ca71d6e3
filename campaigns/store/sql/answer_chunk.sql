-- The providers' answers to a chunk's dials: dialing -> placed | failed for each call, guarded by its state
-- and claim as every move is, in one statement; with the outcome the provider knew at once, if any
-- (progress 0 and nulls: none, the call's own kept).
UPDATE {call} AS c
   SET state = v.state, provider_call_id = COALESCE(v.provider_call_id, c.provider_call_id),
       error = v.error, finished_at = v.finished_at, updated_at = v.finished_at,
       progress = GREATEST(c.progress, v.progress), outcome = COALESCE(NULLIF(v.outcome, ''), c.outcome),
       answered = COALESCE(v.answered, c.answered), duration_s = COALESCE(v.duration_s, c.duration_s)
  FROM unnest(%(calls)s::bigint[], %(attempts)s::bigint[], %(states)s::text[], %(sids)s::text[],
              %(errors)s::text[], %(finished)s::timestamptz[], %(progress)s::int[], %(outcomes)s::text[],
              %(answered)s::boolean[], %(durations)s::int[])
       AS v(call_id, attempt_id, state, provider_call_id, error, finished_at, progress, outcome, answered,
            duration_s)
 WHERE c.id = v.call_id AND c.state = %(dialing)s AND c.attempt_id = v.attempt_id
