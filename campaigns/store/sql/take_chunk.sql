-- reserved -> dialing for a chunk of calls (one, for a single dial task), each guarded by its claim and its
-- campaign running, with everything each dial needs, in one round trip. Outer joins: once the UPDATE has
-- run, its rows must come back whatever else was deleted meanwhile. {connection_columns}: every column of
-- the caller ID's provider connection, a whole model. Each claim taken is marked dialed.
WITH taken AS (
    UPDATE {call} AS c SET state = %(dialing)s, dialing_at = %(now)s, updated_at = %(now)s
      FROM {campaign} AS k,
           unnest(%(calls)s::bigint[], %(attempts)s::bigint[]) AS v(call_id, attempt_id)
     WHERE c.id = v.call_id AND c.state = %(reserved)s AND c.attempt_id = v.attempt_id
       AND k.id = c.campaign_id AND k.state = %(running)s
    RETURNING c.id, c.attempt_id, c.workspace_id, c.campaign_id, c.to_e164, c.from_e164, c.number_id,
              c.unavailable_tries
), dialed AS (  -- the claim now counts against its destination's attempt caps (campaigns/caps.py)
    UPDATE {attempt} AS a SET dialed = true FROM taken AS t WHERE a.id = t.attempt_id
)
SELECT t.id, t.attempt_id, t.workspace_id, t.campaign_id, t.to_e164, t.from_e164, t.number_id,
       t.unavailable_tries, a.at_ms, n.state, n.release_at IS NULL, {connection_columns}
  FROM taken AS t
  LEFT JOIN {attempt} AS a ON a.id = t.attempt_id
  LEFT JOIN {number} AS n ON n.id = t.number_id
  LEFT JOIN {connection} AS p ON p.id = n.connection_id
