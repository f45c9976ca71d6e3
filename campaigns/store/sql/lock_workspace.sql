-- The workspace lock, exclusively, to the end of the transaction: the pacer's rebuild waits for every
-- dispatch batch that holds it shared, and none starts until the rebuild commits.
SELECT pg_advisory_xact_lock(%(workspace_ns)s, %(ws)s)
