-- log.lua: the per-number attempt log, the pacing rule and the deciding scripts' argument. Prepended to
-- every script when it is loaded, so each exists once (pacer.py only writes and reads the formats).
--
-- A log is a string of fixed-width entries, attempt times in ms since epoch as 8-byte big-endian integers
-- (struct '>I8'), newest first, so entry i is read without parsing the rest and recording an attempt is
-- one hash read and one write. Binary, not digits: Redis's Lua hashes every byte of every string it makes
-- and reads digits with strtod, and a claim makes two strings the size of the log (read, written) and now
-- and then a third (trimmed), so a 100-attempt log of 800 bytes costs a claim far less than 1,400 digits.
-- It keeps at least the newest max(cap, 1) attempts: the gap needs the newest, the rolling cap the cap-th
-- newest. It never expires on its own: a count-trimmed log stays exact whatever the window (see
-- Pacer.policy_changed).

local WIDTH = 8

-- The deciding scripts' argument (Pacer._decision_arg): gap ms, cap (0: no cap), window ms, now ms (-1:
-- the Redis clock, shared by every worker machine) and the claims wanted, as 8-byte big-endian integers.
-- Packed, not text: a pattern match and strtod cost more than a claim's own arithmetic. Returns the
-- policy, now, the claims wanted and the policy's 24 bytes, which stamp the policy a pool was scored under.
local function read_decision(arg)
  local gap, cap, window, now, wanted = struct.unpack('>i8i8i8i8i8', arg)
  if now < 0 then
    local t = redis.call('TIME')
    now = t[1] * 1000 + math.floor(t[2] / 1000)
  end
  return {gap = gap, cap = cap, window = window}, now, wanted, string.sub(arg, 1, 24)
end

local function attempt(log, i)           -- the i-th newest attempt, or nil
  if #log < i * WIDTH then return nil end
  return (struct.unpack('>I8', log, (i - 1) * WIDTH + 1))
end

-- When the number may place its next attempt: max(newest + gap, cap-th newest + window), so at most
-- `cap` attempts fall in any window-long span; and its newest attempt. 0, 0 for a number never used.
-- (Here and below, comparisons and struct.unpack rather than math.max and attempt(): each Lua call
-- costs a claim about 0.5%.)
local function next_free(log, policy)
  if not log then return 0, 0 end
  local newest = struct.unpack('>I8', log)
  local free = policy.gap > 0 and newest + policy.gap or 0
  if policy.cap > 0 and #log >= policy.cap * WIDTH then
    local cap_free = struct.unpack('>I8', log, (policy.cap - 1) * WIDTH + 1) + policy.window
    if cap_free > free then free = cap_free end
  end
  return free, newest
end

-- A number's score in a pool: when it frees up, or its newest attempt if that is later (free numbers
-- then rotate least recently used first). Every writer uses this, so a rebuilt pool orders as before.
local function pool_score(log, policy)
  local free, newest = next_free(log, policy)
  return newest > free and newest or free
end

-- The log with an attempt at `now`. Trimming it to max(cap, 1) costs one more copy of the log, so it
-- waits until sqrt(max(cap, 1)) extra attempts have piled up, which copies the fewest bytes per claim:
-- a 100-attempt log holds 100 to 110, and a claim copies about a quarter fewer bytes than trimming each
-- time. The extra attempts are older than any the rule reads.
local function with_attempt(log, now, policy)
  local entry = struct.pack('>I8', now)
  if not log then return entry end
  local keep = policy.cap > 1 and policy.cap or 1
  if #log >= (keep + math.floor(math.sqrt(keep))) * WIDTH then
    log = string.sub(log, 1, (keep - 1) * WIDTH)
  end
  return entry .. log
end
