-- clock.lua: the Redis clock in ms since epoch, with a counter incremented in the same call: one round
-- trip, on a Redis Cluster too, where TIME cannot be pipelined (it names no key) and a script runs on the
-- node that holds its key.
-- KEYS[1] the counter; ARGV[1] how much to add to it (INCRBY; 1 when not given). Returns the time in ms.

redis.call('INCRBY', KEYS[1], tonumber(ARGV[1] or 1))
local t = redis.call('TIME')
return t[1] * 1000 + math.floor(t[2] / 1000)
