-- A status the provider reported about a call (its status callback, or its answer when asked), in one
-- statement: recorded only under the call's claim, and only if it ranks above what the call has heard (or
-- brings the moment it was answered, unknown so far), so the same event twice, or a lower one arriving
-- late, changes nothing. A dialing or checking call becomes placed. A status that settles the call is kept
-- on the claim's attempt too (number health counts attempts), in the same statement. Returns what the call
-- had heard.
WITH old AS (
    SELECT id, progress, state FROM {call}
     WHERE id = %(call)s AND attempt_id = %(attempt)s AND state = ANY(%(heard_states)s)
       FOR UPDATE
), changed AS (
UPDATE {call} AS c
   SET progress = GREATEST(c.progress, %(rank)s),
       outcome = CASE WHEN %(settles)s AND c.progress < %(rank)s THEN %(outcome)s ELSE c.outcome END,
       duration_s = CASE WHEN %(settles)s AND c.progress < %(rank)s THEN %(duration)s ELSE c.duration_s END,
       hangup_cause = CASE WHEN %(settles)s AND c.progress < %(rank)s THEN %(cause)s ELSE c.hangup_cause END,
       answered = COALESCE(c.answered, %(answered)s),
       answered_at = COALESCE(c.answered_at, %(answered_at)s),
       state = %(placed)s::varchar,
       error = CASE WHEN c.state = %(placed)s::varchar THEN c.error ELSE '' END,
       finished_at = COALESCE(c.finished_at, %(now)s),
       provider_call_id = CASE WHEN c.provider_call_id = '' THEN %(sid)s ELSE c.provider_call_id END,
       updated_at = %(now)s
  FROM old
 WHERE c.id = old.id
   AND (old.progress < %(rank)s OR (c.answered_at IS NULL AND %(answered_at)s::timestamptz IS NOT NULL))
RETURNING old.progress, old.state
), settled AS (
UPDATE {attempt} AS a
   SET outcome = %(outcome)s, answered = %(attempt_answered)s, duration_s = %(duration)s, settled_at = %(now)s
  FROM changed
 WHERE a.id = %(attempt)s AND %(settles)s AND changed.progress < %(rank)s
)
SELECT progress, state FROM changed
