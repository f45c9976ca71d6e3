-- log.lua: the per-number attempt log, the pacing rules and the deciding scripts' argument. Prepended to
-- every script when it is loaded, so each exists once (pacer.py only writes and reads the formats).
--
-- A log is a string of fixed-width entries, attempt times in ms since epoch as 8-byte big-endian integers
-- (struct '>I8'), newest first, so entry i is read without parsing the rest and recording an attempt is
-- one hash read and one write. Binary, not digits: Redis's Lua hashes every byte of every string it makes
-- and reads digits with strtod, and a claim makes two strings the size of the log (read, written) and now
-- and then a third (trimmed), so a 100-attempt log of 800 bytes costs a claim far less than 1,400 digits.
-- It keeps at least the newest policy.keep = max(caps, daily cap, 1) attempts: the gap needs the newest,
-- a window of cap c the c-th newest, the daily cap d the d-th newest. It never expires on its own: a
-- count-trimmed log stays exact whatever the windows (see Pacer.policy_changed).

local WIDTH = 8
local DAY_SPAN = 25 * 3600 * 1000        -- the longest calendar day (DST): every day starts after now - this

-- The deciding scripts' arguments (Pacer._decision_arg, Pacer._zones_arg). The first, packed as 8-byte
-- big-endian integers: gap ms, daily cap (0: none), n windows, n x (cap, window ms), now ms (-1: the
-- Redis clock, shared by every worker machine) and the claims wanted. Packed, not text: a pattern match
-- and strtod cost more than a claim's own arithmetic. The second: the zones' local midnights as text,
-- parsed only when a number nears its daily cap (day_bounds). Returns the policy, now, the claims wanted
-- and the policy's bytes, which stamp the policy a pool was scored under.
local function read_decision(arg, zones_arg, zones_key)
  local gap, daily, n, pos = struct.unpack('>i8i8i8', arg)
  local policy = {gap = gap, daily = daily, n = n, caps = {}, windows = {}, keep = daily > 1 and daily or 1,
    zones_arg = zones_arg, zones_key = zones_key}
  for w = 1, n do
    local cap, window
    cap, window, pos = struct.unpack('>i8i8', arg, pos)
    policy.caps[w], policy.windows[w] = cap, window
    if cap > policy.keep then policy.keep = cap end
  end
  local now, wanted = struct.unpack('>i8i8', arg, pos)
  if now < 0 then
    local t = redis.call('TIME')
    now = t[1] * 1000 + math.floor(t[2] / 1000)
  end
  policy.now = now
  return policy, now, wanted, string.sub(arg, 1, pos - 1)
end

local function attempt(log, i)           -- the i-th newest attempt, or nil
  if #log < i * WIDTH then return nil end
  return (struct.unpack('>I8', log, (i - 1) * WIDTH + 1))
end

-- The local day holding now in the number's zone ({ws}:zones), as start, end ms and the zone; nil when
-- its zone is unknown or missing from the claim's midnights (the caller then applies a 25 h rolling
-- window, stricter than any calendar day). A zone's midnights are found and parsed on first need, once
-- per call: a pool spanning many zones costs a claim only its numbers' zones.
local function day_bounds(number, policy)
  if not policy.days then policy.days, policy.zone_of = {}, {} end  -- made on first need: no daily, no cost
  local zone = policy.zone_of[number]                      -- read once per call (a claim reads it twice)
  if not zone then
    zone = redis.call('HGET', policy.zones_key, number) or ''
    policy.zone_of[number] = zone
  end
  local day = policy.days[zone]
  if day == nil then
    day = false
    local at = zone ~= '' and string.find(policy.zones_arg, ' ' .. zone .. ' ', 1, true)
    if at then
      local m0, m1, m2, m3 = string.match(policy.zones_arg, '^(%d+) (%d+) (%d+) (%d+)', at + #zone + 2)
      local m = {tonumber(m0), tonumber(m1), tonumber(m2), tonumber(m3)}
      for i = 1, 3 do
        if m[i] <= policy.now and policy.now < m[i + 1] then day = {m[i], m[i + 1]} end
      end
    end
    policy.days[zone] = day
  end
  if day then return day[1], day[2], zone end
  return nil
end

-- The zones of a batch's candidates, read in one HMGET with their logs' (claim.lua) rather than one HGET
-- each as day_bounds needs them: only with a daily cap.
local function prefetch_zones(numbers, policy)
  if policy.daily == 0 then return end
  if not policy.days then policy.days, policy.zone_of = {}, {} end
  local zones = redis.call('HMGET', policy.zones_key, unpack(numbers))
  for j = 1, #numbers do policy.zone_of[numbers[j]] = zones[j] or '' end
end

-- When the number may place its next attempt: the latest of newest + gap, each window's cap-th newest +
-- its length, and, once daily_cap attempts fall in the local day of now, the day's end; and its newest
-- attempt. 0, 0 for a number never used. The zone is read only for a number whose daily_cap-th newest
-- attempt is within DAY_SPAN (older ones lie before any zone's today).
-- (Here and below, comparisons and struct.unpack rather than math.max and attempt(): each Lua call
-- costs a claim about 0.5%.)
local function next_free(log, policy, number)
  if not log then return 0, 0 end
  local newest = struct.unpack('>I8', log)
  local free = policy.gap > 0 and newest + policy.gap or 0
  local len = #log
  for w = 1, policy.n do
    local cap = policy.caps[w]
    if len >= cap * WIDTH then
      local cap_free = struct.unpack('>I8', log, (cap - 1) * WIDTH + 1) + policy.windows[w]
      if cap_free > free then free = cap_free end
    end
  end
  local daily = policy.daily
  if daily > 0 and len >= daily * WIDTH then
    local t = struct.unpack('>I8', log, (daily - 1) * WIDTH + 1)
    if t > policy.now - DAY_SPAN then
      local start, stop = day_bounds(number, policy)
      if not start then start, stop = t, t + DAY_SPAN end
      if t >= start and stop > free then free = stop end
    end
  end
  return free, newest
end

-- A number's score in a pool: when it frees up, or its newest attempt if that is later (free numbers
-- then rotate least recently used first). Every writer uses this, so a rebuilt pool orders as before.
local function pool_score(log, policy, number)
  local free, newest = next_free(log, policy, number)
  return newest > free and newest or free
end

-- The log with an attempt at `now`. Trimming it to policy.keep costs one more copy of the log, so it
-- waits until sqrt(keep) extra attempts have piled up, which copies the fewest bytes per claim: a
-- 100-attempt log holds 100 to 110, and a claim copies about a quarter fewer bytes than trimming each
-- time. The extra attempts are older than any the rules read.
local function with_attempt(log, now, policy)
  local entry = struct.pack('>I8', now)
  if not log then return entry end
  local keep = policy.keep
  if #log >= (keep + math.floor(math.sqrt(keep))) * WIDTH then
    log = string.sub(log, 1, (keep - 1) * WIDTH)
  end
  return entry .. log
end
