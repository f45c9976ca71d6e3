-- number_states.lua: what the campaign page shows per number, read-only.
-- KEYS[1] state HASH (the logs)
-- ARGV 1 the policy and now_ms, packed (log.lua read_decision), 2.. numbers
-- Returns {now_ms, then per number: newest attempt (-1 if none), next free ms, attempts in the window},
-- or {-2} while the workspace is not initialised (claim.lua's NOT_READY): its logs may be stale or gone.

if redis.call('HEXISTS', KEYS[1], '~ready:2') == 0 then return {-2} end
local policy, now = read_decision(ARGV[1])
local FIRST, CHUNK = 2, 500
local out = {now}

local function in_window(log)
  local n = 0
  if log and policy.cap > 0 then
    while (attempt(log, n + 1) or now - policy.window) > now - policy.window do n = n + 1 end
  end
  return n
end

for first = FIRST, #ARGV, CHUNK do
  local last = math.min(first + CHUNK - 1, #ARGV)
  local found = redis.call('HMGET', KEYS[1], unpack(ARGV, first, last))
  for i = 1, last - first + 1 do
    local log = found[i]
    out[#out + 1] = log and attempt(log, 1) or -1
    out[#out + 1] = next_free(log, policy)
    out[#out + 1] = in_window(log)
  end
end
return out
