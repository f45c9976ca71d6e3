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
-- big-endian integers: gap ms, daily cap (0: none), n windows, n x (cap, window ms), jitter ms (0: none),
-- r warm-up days, r x their daily caps, now ms (-1: the Redis clock, shared by every worker machine) and
-- the claims wanted. Packed, not text: a pattern match and strtod cost more than a claim's own
-- arithmetic. The second: the zones' local midnights as text, parsed only when a number nears its daily
-- cap (day_bounds). Returns the policy, now, the claims wanted and the policy's bytes, which stamp the
-- policy a pool was scored under.
local function read_policy(arg, pos)
  local gap, daily, n
  gap, daily, n, pos = struct.unpack('>i8i8i8', arg, pos)
  local policy = {gap = gap, daily = daily, n = n, caps = {}, windows = {}, keep = daily > 1 and daily or 1,
    low = daily}
  for w = 1, n do
    local cap, window
    cap, window, pos = struct.unpack('>i8i8', arg, pos)
    policy.caps[w], policy.windows[w] = cap, window
    if cap > policy.keep then policy.keep = cap end
  end
  local jitter, nramp
  jitter, nramp, pos = struct.unpack('>i8i8', arg, pos)
  policy.jitter, policy.nramp, policy.ramp = jitter, nramp, {}
  for d = 1, nramp do
    policy.ramp[d], pos = struct.unpack('>i8', arg, pos)
    if policy.ramp[d] < policy.low then policy.low = policy.ramp[d] end  -- the least cap of any day
  end
  return policy, pos
end

local function read_decision(arg, zones_arg, zones_key, firsts_key)
  local policy, pos = read_policy(arg, 1)
  policy.zones_arg, policy.zones_key, policy.firsts_key = zones_arg, zones_key, firsts_key
  local now, wanted = struct.unpack('>i8i8', arg, pos)
  if now < 0 then
    local t = redis.call('TIME')
    now = t[1] * 1000 + math.floor(t[2] / 1000)
  end
  policy.now = now
  return policy, now, wanted, string.sub(arg, 1, pos - 1)
end

-- A mixed pool's policy classes (Pacer.claim's `classes`, packed as Pacer._classes_arg): '' for none
-- (every number follows `policy`), else the count and, per class, its key's length, its key and its
-- policy (read_policy). Each number's class is its field in {ws}:classes; a number with none, or of a
-- class not given, follows `policy`, which the caller makes every class's limits together (strictest:
-- fails closed). The classes share `policy`'s caches (zones, first days: a number's, whatever its class)
-- and keep as many attempts as the most demanding of them, so a number moving class finds its log whole.
local function read_classes(arg, policy)
  if arg == '' then return nil end
  policy.mids, policy.zone_of, policy.first_of = {}, {}, {}
  local classes, count, pos = {}, struct.unpack('>i8', arg)
  for _ = 1, count do
    local len, key, p
    len, pos = struct.unpack('>i8', arg, pos)
    key, pos = string.sub(arg, pos, pos + len - 1), pos + len
    p, pos = read_policy(arg, pos)
    p.zones_arg, p.zones_key, p.firsts_key, p.now = policy.zones_arg, policy.zones_key, policy.firsts_key,
      policy.now
    p.mids, p.zone_of, p.first_of = policy.mids, policy.zone_of, policy.first_of
    if p.keep > policy.keep then policy.keep = p.keep end
    if p.daily > 0 then policy.any_daily = true end
    classes[key] = p
  end
  for _, p in pairs(classes) do p.keep = policy.keep end
  return classes
end

local function attempt(log, i)           -- the i-th newest attempt, or nil
  if #log < i * WIDTH then return nil end
  return (struct.unpack('>I8', log, (i - 1) * WIDTH + 1))
end

-- The local day holding `at` in the number's zone ({ws}:zones), as start, end ms and the zone; nil when
-- its zone is unknown or missing from the claim's midnights (the caller then applies a 25 h rolling
-- window, stricter than any calendar day); nil, the first midnight known, the zone when `at` comes before
-- them (its day is over); the last midnight known and at + DAY_SPAN when `at` is past them (a later day,
-- counted from an earlier start and ending later: stricter). A zone's midnights are found and parsed on
-- first need, once per call: a pool spanning many zones costs a claim only its numbers' zones.
local function day_bounds(number, policy, at)
  if not policy.mids then policy.mids, policy.zone_of = {}, {} end  -- made on first need: no daily, no cost
  local zone = policy.zone_of[number]                      -- read once per call (a claim reads it twice)
  if not zone then
    zone = redis.call('HGET', policy.zones_key, number) or ''
    policy.zone_of[number] = zone
  end
  local m = policy.mids[zone]
  if m == nil then
    m = false
    local pos = zone ~= '' and string.find(policy.zones_arg, ' ' .. zone .. ' ', 1, true)
    if pos then
      local m0, m1, m2, m3 = string.match(policy.zones_arg, '^(%d+) (%d+) (%d+) (%d+)', pos + #zone + 2)
      m = {tonumber(m0), tonumber(m1), tonumber(m2), tonumber(m3)}
    end
    policy.mids[zone] = m
  end
  if m then
    if at < m[1] then return nil, m[1], zone end
    for i = 1, 3 do
      if at < m[i + 1] then return m[i], m[i + 1], zone end
    end
    return m[4], at + DAY_SPAN, zone
  end
  return nil
end

-- The zones of a batch's candidates, read in one HMGET with their logs' (claim.lua) rather than one HGET
-- each as day_bounds needs them: only with a daily cap.
local function prefetch_zones(numbers, policy)
  if policy.daily == 0 and not policy.any_daily then return end
  if not policy.mids then policy.mids, policy.zone_of = {}, {} end
  local zones = redis.call('HMGET', policy.zones_key, unpack(numbers))
  for j = 1, #numbers do policy.zone_of[numbers[j]] = zones[j] or '' end
end

-- The number's warm-up day starting at `start` (a local midnight), 0 for the day of its first attempt:
-- {ws}:firsts holds the local midnight that day began at (claim.lua writes it, a rebuild loads it from
-- PostgreSQL). Local days are 23 to 25 h long, so whole days between two midnights round exactly. A
-- number with no first day yet is on day 0 (false in first_of: the claim records it).
local function warmup_day(number, policy, start)
  if not policy.first_of then policy.first_of = {} end
  local first = policy.first_of[number]
  if first == nil then
    first = tonumber(redis.call('HGET', policy.firsts_key, number) or '') or false
    policy.first_of[number] = first
  end
  if not first or first >= start then return 0 end
  return math.floor((start - first) / 86400000 + 0.5)
end

-- The daily cap of the number's day starting at `start`: daily_cap, or its warm-up day's; the least of
-- them when the day is unknown (start nil: the 25 h rolling rule). Also the warm-up day (0-based), -1
-- when it is past the ramp or unknown.
local function day_cap(number, policy, start)
  if policy.nramp == 0 then return policy.daily, -1 end
  if not start then return policy.low, -1 end
  local day = warmup_day(number, policy, start)
  if day < policy.nramp then return policy.ramp[day + 1], day end
  return policy.daily, -1
end

-- The number's extra delay after its attempt at `at`: as Pacer's jitter_ms, a few Park-Miller steps over
-- the attempt's time and number (every product stays below 2^53, exact in Lua's doubles).
local function jitter_of(number, at, jitter)
  local x = (at % 2147483647 + tonumber(string.sub(number, 2)) % 2147483647) % 2147483647
  if x == 0 then x = 1 end
  for _ = 1, 3 do x = (x * 48271) % 2147483647 end
  return x % (jitter + 1)
end

-- The earliest moment from `at` on (at or after the newest attempt) that the daily cap allows: `at`
-- unless the day holding it already holds its cap of attempts, then that day's end.
local function daily_free(log, policy, number, at)
  local low, len = policy.low, #log
  if len < low * WIDTH then return at end
  local t = struct.unpack('>I8', log, (low - 1) * WIDTH + 1)
  if t <= at - DAY_SPAN then return at end                 -- older than any day holding `at` began
  local start, stop = day_bounds(number, policy, at)
  if not start and stop then return at end                 -- `at` is in a day over before yesterday
  local cap = start and policy.nramp > 0 and day_cap(number, policy, start) or low
  if start and cap ~= low then
    if len < cap * WIDTH then return at end
    t = struct.unpack('>I8', log, (cap - 1) * WIDTH + 1)
  end
  if not start then start, stop = t, t + DAY_SPAN end    -- unknown day: at most `low` in any 25 h
  if t >= start and stop > at then return stop end
  return at
end

-- When the number may place its next attempt: the latest of newest + gap, each window's cap-th newest +
-- its length, and, once the day's cap of attempts (daily_cap, or its warm-up day's) fall in the local day
-- of now, the day's end; with a jitter, the earliest moment after the newest attempt all of those allow,
-- plus the attempt's delay. And its newest attempt. 0, 0 for a number never used. The zone is read only
-- for a number whose least-cap-th newest attempt is within DAY_SPAN (older ones lie before any zone's
-- today).
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
  if policy.jitter > 0 then
    -- The earliest moment after the attempt that every rule allows, then the attempt's delay: a value of
    -- the log alone, so it holds whenever it is asked (and a score stays a lower bound).
    if newest > free then free = newest end
    if policy.daily > 0 then free = daily_free(log, policy, number, free) end
    return free + jitter_of(number, newest, policy.jitter), newest
  end
  if policy.daily > 0 and len >= policy.low * WIDTH then          -- (fewer attempts: no day is full)
    local day_free = daily_free(log, policy, number, policy.now)    -- now itself when the day allows
    if day_free > policy.now and day_free > free then free = day_free end
  end
  return free, newest
end

-- A number's score in a pool: when it frees up, or its newest attempt if that is later (free numbers
-- then rotate least recently used first). Every writer uses this, so a rebuilt pool orders as before.
local function pool_score(log, policy, number)
  local free, newest = next_free(log, policy, number)
  return newest > free and newest or free
end

-- Score every number of a pool or presence index from its log (pool_score), 500 at a time: once per
-- policy change (claim.lua, presence.lua). policy_for: the number's policy in a mixed pool, nil for none;
-- the classes of the numbers read here go into class_of.
local function rescore(key, state, classes_key, class_of, policy_for, policy)
  local numbers = redis.call('ZRANGE', key, '0', '-1')
  for first = 1, #numbers, 500 do
    local last = math.min(first + 499, #numbers)
    local logs = redis.call('HMGET', state, unpack(numbers, first, last))
    if policy_for then
      local keys = redis.call('HMGET', classes_key, unpack(numbers, first, last))
      for i = first, last do class_of[numbers[i]] = keys[i - first + 1] or false end
    end
    local args = {}
    for i = first, last do
      local p = policy_for and policy_for(numbers[i]) or policy
      args[#args + 1] = string.format('%d', pool_score(logs[i - first + 1], p, numbers[i]))
      args[#args + 1] = numbers[i]
    end
    redis.call('ZADD', key, unpack(args))
  end
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
