-- slow_down.lua: the provider refused a call for its rate: no claim from this connection for a while.
-- KEYS[1] rates HASH connection id -> its token bucket's theoretical arrival time (claim.lua)
-- ARGV 1 connection id, 2 'interval_ms tolerance_ms' (Pacer.Rate), 3 pause ms, 4 now ms (-1: Redis clock)
-- The bucket is emptied until now + pause (its next token then), or left alone if it waits longer already.
-- Returns now, in ms.

local _, tau = string.match(ARGV[2], '^(%S+) (%S+)$')
local now = tonumber(ARGV[4])
if now < 0 then
  local t = redis.call('TIME')
  now = t[1] * 1000 + math.floor(t[2] / 1000)
end
local tat = now + tonumber(ARGV[3]) + tonumber(tau)
local old = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tat > old then redis.call('HSET', KEYS[1], ARGV[1], string.format('%.3f', tat)) end
return now
