-- reserved -> dialing, guarded by the claim and the campaign running, and everything the dial needs, in
-- one round trip. Outer joins: once the UPDATE has run, its row must come back whatever else was deleted
-- meanwhile. {connection_columns}: every column of the caller ID's provider connection, a whole model.
WITH taken AS (
    UPDATE {call} AS c SET state = %(dialing)s, dialing_at = %(now)s, updated_at = %(now)s
      FROM {campaign} AS k
     WHERE c.id = %(call_id)s AND c.state = %(reserved)s AND c.attempt_id = %(attempt_id)s
       AND k.id = c.campaign_id AND k.state = %(running)s
    RETURNING c.workspace_id, c.campaign_id, c.to_e164, c.from_e164, c.number_id, c.unavailable_tries
)
SELECT t.workspace_id, t.campaign_id, t.to_e164, t.from_e164, t.number_id, t.unavailable_tries, a.at_ms,
       n.state, {connection_columns}
  FROM taken AS t
  LEFT JOIN {attempt} AS a ON a.id = %(attempt_id)s
  LEFT JOIN {number} AS n ON n.id = t.number_id
  LEFT JOIN {connection} AS p ON p.id = n.connection_id
