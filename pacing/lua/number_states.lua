-- number_states.lua: what the campaign page shows per number, read-only.
-- KEYS[1] state HASH (the logs), KEYS[2] zones HASH (number -> time zone), KEYS[3] firsts HASH (claim.lua)
-- ARGV 1 the policy and now_ms, packed, 2 the zones' midnights (log.lua read_decision), 3.. numbers
-- Returns {now_ms, then per number {newest attempt (-1 if none), next free ms, attempts in the most
-- constraining window, that window's cap, holds}}, holds flat, seven per limit holding the number now:
-- kind (1 gap, 2 window, 3 daily, 4 jitter), attempts counted, limit, window ms (0: gap, day; the jitter's
-- bound), when it frees, zone ('' but for a day in a known zone), warm-up day (1-based; 0: none). {-2}
-- while the workspace is not initialised (claim.lua's NOT_READY): its logs may be stale or gone.

if redis.call('HEXISTS', KEYS[1], '~ready:2') == 0 then return {-2} end
local policy, now = read_decision(ARGV[1], ARGV[2], KEYS[2], KEYS[3])
local FIRST, CHUNK = 3, 500
local out = {now}

local function count_since(log, since)     -- attempts at or after `since`, of those kept
  local n = 0
  while (attempt(log, n + 1) or since - 1) >= since do n = n + 1 end
  return n
end

local function state_of(log, number)
  if not log then return {-1, 0, 0, policy.n > 0 and policy.caps[1] or 0, {}} end
  local newest = attempt(log, 1)
  local free = next_free(log, policy, number)
  local holds = {}
  local function hold(kind, used, limit, window, frees, zone, day)
    for _, v in ipairs({kind, used, limit, window, frees, zone, day or 0}) do holds[#holds + 1] = v end
  end
  if policy.gap > 0 and newest + policy.gap > now then hold(1, 1, 1, 0, newest + policy.gap, '') end
  local most, most_cap, most_frees, most_ratio = 0, policy.n > 0 and policy.caps[1] or 0, nil, -1
  for w = 1, policy.n do
    local cap, window = policy.caps[w], policy.windows[w]
    local used = count_since(log, now - window + 1)           -- attempts after now - window
    local cap_th = attempt(log, cap)
    local frees = cap_th and cap_th + window > now and cap_th + window
    if frees then hold(2, used, cap, window, frees, '') end
    local ratio = used / cap
    if (frees and (not most_frees or frees >= most_frees)) or (not most_frees and ratio > most_ratio) then
      most, most_cap, most_ratio = used, cap, ratio
      if frees then most_frees = frees end
    end
  end
  local held_until = 0
  for h = 5, #holds, 7 do
    if holds[h] > held_until then held_until = holds[h] end
  end
  if policy.daily > 0 then
    local low = attempt(log, policy.low)
    if low and low > now - DAY_SPAN then
      local start, stop, zone = day_bounds(number, policy, now)
      local cap, day = day_cap(number, policy, start)
      local nth = attempt(log, cap)
      if not start then start, stop, zone = now - DAY_SPAN + 1, nth and nth + DAY_SPAN, '' end
      if nth and nth >= start then
        hold(3, count_since(log, start), cap, 0, stop, zone, day + 1)
        if stop > held_until then held_until = stop end
      end
    end
  end
  if policy.jitter > 0 and free > now and free > held_until then   -- the attempt's delay, past the rest
    hold(4, 0, 0, policy.jitter, free, '')
  end
  return {newest, free, most, most_cap, holds}
end

for first = FIRST, #ARGV, CHUNK do
  local last = math.min(first + CHUNK - 1, #ARGV)
  local found = redis.call('HMGET', KEYS[1], unpack(ARGV, first, last))
  for i = 1, last - first + 1 do
    out[#out + 1] = state_of(found[i], ARGV[first + i - 1])
  end
end
return out
