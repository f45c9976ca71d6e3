-- pool_put.lua: add numbers to a pool, or make the pool exactly these numbers.
-- KEYS[1] pool ZSET, KEYS[2] state HASH (the logs), KEYS[3] registry SET (the workspace's pool ids)
-- ARGV 1 pool id, 2 '1': exactly these ('0': add them), 3.. numbers
-- Numbers already in the pool keep their score; a new one starts at its newest attempt (0 if none), a
-- lower bound under any policy, repaired by the first claim that reaches it.

local pool, state, registry = KEYS[1], KEYS[2], KEYS[3]
local FIRST, CHUNK = 3, 500               -- chunks keep unpack() within Lua's stack

if ARGV[2] == '1' then
  local keep, gone = {}, {}
  for i = FIRST, #ARGV do keep[ARGV[i]] = true end
  for _, number in ipairs(redis.call('ZRANGE', pool, 0, -1)) do
    if not keep[number] then gone[#gone + 1] = number end
  end
  for first = 1, #gone, CHUNK do
    redis.call('ZREM', pool, unpack(gone, first, math.min(first + CHUNK - 1, #gone)))
  end
end

for first = FIRST, #ARGV, CHUNK do
  local last = math.min(first + CHUNK - 1, #ARGV)
  local logs = redis.call('HMGET', state, unpack(ARGV, first, last))
  local args = {}
  for i = first, last do
    local log = logs[i - first + 1]
    args[#args + 1] = log and attempt(log, 1) or 0
    args[#args + 1] = ARGV[i]
  end
  redis.call('ZADD', pool, 'NX', unpack(args))
end
redis.call('SADD', registry, ARGV[1])
return #ARGV - FIRST + 1
