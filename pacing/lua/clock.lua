-- clock.lua: the Redis clock in ms since epoch, with a counter incremented in the same call: one round
-- trip, on a Redis Cluster too, where TIME cannot be pipelined (it names no key) and a script runs on the
-- node that holds its key.
-- KEYS[1] the counter (INCR). Returns the time in ms.

redis.call('INCR', KEYS[1])
local t = redis.call('TIME')
return t[1] * 1000 + math.floor(t[2] / 1000)
