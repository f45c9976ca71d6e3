-- pending -> suppressed (or held), each call with its reason (its destination's do-not-call entry, its
-- attempt cap), in one statement whatever the batch size; guarded by the state, so a call that moved on meanwhile stays as it is.
UPDATE {call} AS c
   SET state = %(end)s, error = v.reason, finished_at = %(now)s, updated_at = %(now)s
  FROM unnest(%(ids)s::bigint[], %(reasons)s::text[]) AS v(id, reason)
 WHERE c.id = v.id AND c.state = %(pending)s
RETURNING c.id
