-- A dispatch batch's due calls' destinations, each try-locked to the end of its transaction (two batches of
-- one workspace run at once on this store; one must not count a destination while another reserves it).
-- Its own statement, before the count (caps.sql): under READ COMMITTED the count's snapshot then starts
-- after the lock was taken, so it sees whatever the batch that held it last committed. The calls whose
-- destination another batch holds are left for the next batch.
SELECT c.id FROM {call} AS c
 WHERE c.id = ANY(%(ids)s::bigint[]) AND pg_try_advisory_xact_lock(%(dest_ns)s, hashtext(c.to_e164))
