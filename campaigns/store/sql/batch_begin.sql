-- A dispatch batch's locks and first look, in one statement, waiting for nothing: the workspace lock
-- shared (a rebuild takes it exclusively: a batch never claims while the pacer is rebuilt, and the rebuild
-- waits for every batch that holds it), the campaign's pool lock (another dispatcher feeding the pool:
-- not ours), the campaign's state and its calls queued for the dial workers (reserved, not yet taken).
SELECT pg_try_advisory_xact_lock_shared(%(workspace_ns)s, %(ws)s)
           AND pg_try_advisory_xact_lock(%(pool_ns)s, %(pool)s) AS ours,
       k.state,
       (SELECT count(*) FROM {call} AS c WHERE c.campaign_id = k.id AND c.state = %(reserved)s)
  FROM {campaign} AS k WHERE k.id = %(id)s
