-- presence.lua: local presence. Claim a caller ID per call, atomically, as claim.lua does, but chosen for
-- the call's destination: a number with its area code, else one in its state or region, else in its
-- time zone, else any number of the pool; a retry claims the number its destination got before (sticky).
-- The rules (gap, windows, daily cap, warm-up, jitter, the connection's token bucket) are decided from
-- each number's log exactly as in claim.lua (log.lua next_free), so presence only chooses among the
-- numbers those rules free now: it can break no limit, and claims no number twice.
--
-- KEYS[1..6] as claim.lua: pool, state, callers, rates, zones, firsts
--            (state also holds '~health:<number>' -> its health rank, 0 best, missing 0: Pacer.health_set)
-- KEYS[7]   classes: as claim.lua's (always given, read only with ARGV[3])
-- KEYS[8..] the pool's presence indexes the calls need: ZSETs of the pool's numbers with one area code,
--           region or zone (pacing/places.py), scored as the pool. Written by pool_put (presence) and kept
--           as lower bounds: a claim updates the indexes of its own call's ladder, the number's others keep
--           an older, lower score until a claim meets it and repairs it; a number that left the pool stays
--           in them until a claim meets it there and drops it (the pool is the truth).
-- ARGV[1] the policy, now_ms and K (log.lua read_decision); ARGV[2] the zones' midnights (always given:
--         "calls today" counts from the number's local midnight)
-- ARGV[3] the pool's policy classes, as claim.lua's ('' for none): each number decided, scored and
--         trimmed under its own class's policy (its class read with its log)
-- ARGV[4 .. 3+K] per call: 'sticky ia ir iz': its sticky number ('-': none) and the KEYS indexes of its
--         area, region and zone indexes (0: none)
-- ARGV[4+K ..]: connection id, 'interval_ms tolerance_ms' pairs, as claim.lua
-- Returns 'status now r_1 ... r_K': r_i the number claimed for call i, or '~ms' (its sticky number frees
-- up in ms), or '-' (no number free now: the pool's status says when). status: ms until a call without a
-- sticky number may get one (a lower bound; 0: now, or the repair budget ran out: ask again); -1 the pool
-- is empty, -2 not initialised.
--
-- Among the numbers of a level free now: the best health rank, then the fewest calls today (counted in
-- the log, so exact up to the policy's largest cap or daily cap: more than that tie), then the least
-- recently used. Only the CANDIDATES (4) least recently used free numbers of a level are compared, which
-- bounds a claim's time whatever the pool's size.

local pool, state, callers, buckets = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local FIRST_INDEX = 8
local policy, now, wanted, stamp = read_decision(ARGV[1], ARGV[2], KEYS[5], KEYS[6])
local classes = read_classes(ARGV[3], policy)
stamp = stamp .. ARGV[3]                  -- a pool and its indexes are scored under its classes' too
local class_of = {}                       -- number -> its class key, false for none, as read
-- The number's policy: its class's, else `policy` (claim.lua's; defined only for a mixed pool: a call
-- costs).
local policy_for = classes and function(number)
  local key = class_of[number]
  if key == nil then
    key = redis.call('HGET', KEYS[7], number) or false
    class_of[number] = key
  end
  return key and classes[key] or policy
end
local now_arg = string.format('%d', now)
local NOT_READY, EMPTY = -2, -1
local CANDIDATES, CANDIDATES_ARG = 4, '4'
local budget = 64 + 4 * wanted                -- stale index entries repaired per call at most

local rates, rated = {}, false
for a = 4 + wanted, #ARGV - 1, 2 do
  local interval, tau = string.match(ARGV[a + 1], '^(%S+) (%S+)$')
  rates[ARGV[a]], rated = {interval = tonumber(interval), tau = tonumber(tau)}, true
end

local function reply(status, out)
  for conn, b in pairs(rates) do
    if b.taken then redis.call('HSET', buckets, conn, string.format('%.3f', b.tat)) end
  end
  return string.format('%d %d %s', status, now, table.concat(out, ' '))
end

-- Readiness and the policy stamps of the pool and of every index given, read with the claim's first read
-- of the logs' hash (`extra` fields: one command fewer): an index scored under another policy is re-scored
-- from the logs first, as claim.lua re-scores the pool. Returns the extra fields' values and whether it
-- re-scored (what was read of the indexes is then stale: read it again); nil when not initialised.
local checked = false
local function check(extra)
  checked = true
  local fields = {'~ready:2', '~policy:' .. pool}
  for k = FIRST_INDEX, #KEYS do fields[#fields + 1] = '~policy:' .. KEYS[k] end
  local head = #fields
  for i = 1, #extra do fields[head + i] = extra[i] end
  local found = redis.call('HMGET', state, unpack(fields))
  if not found[1] then return nil end
  local rescored = false
  for k = 2, head do
    if found[k] ~= stamp then
      local key = k == 2 and pool or KEYS[k + FIRST_INDEX - 3]
      rescore(key, state, KEYS[7], class_of, policy_for, policy)
      redis.call('HSET', state, fields[k], stamp)
      rescored = true
    end
  end
  local tail = {}
  for i = 1, #extra do tail[i] = found[head + i] end
  return tail, rescored
end

local function bucket_of(number)
  if not rated then return nil end
  local conn = redis.call('HGET', callers, number)
  local b = conn and rates[conn]
  if b and not b.tat then b.tat = tonumber(redis.call('HGET', buckets, conn) or '0') end
  return b
end

-- When the number may be claimed (its rules and its connection's next token), its log, its score and
-- its bucket.
local function claimable(number, log)
  local at, newest = next_free(log, policy_for and policy_for(number) or policy, number)
  local b = bucket_of(number)
  local score = newest > at and newest or at                -- log.lua pool_score
  if b then
    local ready = math.ceil(b.tat - b.tau)
    if ready > at then at = ready end
    if ready > score then score = ready end
  end
  return at, score, b
end

-- Attempts in the number's local day of now (the last 24 h when its zone is unknown), of those its log
-- keeps, counted up to `most` (min(count, most)): newest first, so one entry tells whether it has `most`
-- (the common answer when comparing with the best so far), else a binary search finds the first one
-- before the day.
local function calls_today(number, log, most)
  if not log then return 0 end
  local start = day_bounds(number, policy, now) or now - 86400000
  local hi = #log / 8                                       -- entries [0, lo) are in the day, [hi, n) not
  if most < hi then
    if struct.unpack('>I8', log, (most - 1) * 8 + 1) >= start then return most end
    hi = most - 1
  end
  local lo = 0
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if struct.unpack('>I8', log, mid * 8 + 1) >= start then lo = mid + 1 else hi = mid end
  end
  return lo
end

-- Record the attempt of `number` (free now, its log) and score it in the pool and the call's indexes;
-- false, recording nothing, if it left the pool. The pool's write tells (XX: members only; CH: 0 for a
-- score left as it was too, rare, which a ZSCORE then tells apart), so a claim checks membership for free.
local function take(number, log, ladder)
  local b = bucket_of(number)
  local tat = b and (b.tat > now and b.tat or now) + b.interval
  local p = policy_for and policy_for(number) or policy
  if p.nramp > 0 and (not log or (p.first_of and p.first_of[number] == false)) then
    -- Its first attempt: day 0 of its warm-up starts today (written before it is scored, as claim.lua).
    if not redis.call('ZSCORE', pool, number) then return false end
    local start = day_bounds(number, p, now)
    redis.call('HSETNX', KEYS[6], number, string.format('%d', start or now - now % 86400000))
  end
  log = with_attempt(log, now, p)
  local score, newest = next_free(log, p, number)
  if newest > score then score = newest end                   -- log.lua pool_score
  if b then
    local ready = math.ceil(tat - b.tau)                      -- its connection's next token
    if ready > score then score = ready end
  end
  local score_arg = string.format('%d', score)
  if score <= now then                        -- pacing off: behind the last used (claim.lua's rule)
    local last = redis.call('ZREVRANGEBYSCORE', pool, string.format('%.3f', now + 0.999), '-inf',
      'WITHSCORES', 'LIMIT', '0', '1')
    score_arg = string.format('%.3f', math.max(score, last[2] and tonumber(last[2]) or 0) + 0.001)
  end
  if redis.call('ZADD', pool, 'XX', 'CH', score_arg, number) == 0 and not redis.call('ZSCORE', pool, number)
  then
    return false
  end
  if b then b.tat, b.taken = tat, true end
  redis.call('HSET', state, number, log)
  for i = 1, #ladder do redis.call('ZADD', KEYS[ladder[i]], 'XX', score_arg, number) end
  return true
end

-- Claim the best number of one index (or the pool) free now for a call (its ladder: take) and return it;
-- nil when none is (every entry met that was not free now is re-scored, so the next look starts past it).
-- false: the budget ran out; NOT_READY: the workspace is not initialised (found at the claim's first read
-- of the logs). Zones are read (for calls today) only to break a tie of health; pool membership only of
-- the one chosen, by take's write to the pool.
local function pick(key, ladder)
  while true do
    local names = redis.call('ZRANGEBYSCORE', key, '-inf', now_arg, 'LIMIT', '0', CANDIDATES_ARG)
    local fields = {}
    for j = 1, #names do fields[j], fields[#names + j] = names[j], '~health:' .. names[j] end
    local logs, rescored = nil, false                             -- logs, then health ranks
    if checked then
      if #names > 0 then logs = redis.call('HMGET', state, unpack(fields)) end
    else
      logs, rescored = check(fields)
      if not logs then return NOT_READY end
    end
    if rescored then                                              -- the window may be stale: again
    elseif #names == 0 then
      return nil
    else
      if classes then                                             -- their classes, in one read
        local keys = redis.call('HMGET', KEYS[7], unpack(names))
        for j = 1, #names do class_of[names[j]] = keys[j] or false end
      end
      local free, best_rank = {}, nil                             -- the free ones of the best rank
      for j, number in ipairs(names) do
        local at, score = claimable(number, logs[j])
        if at <= now then
          local rank = tonumber(logs[#names + j] or '0') or 0
          if not best_rank or rank < best_rank then free, best_rank = {j}, rank
          elseif rank == best_rank then free[#free + 1] = j end
        else
          redis.call('ZADD', key, string.format('%d', score), number)   -- a stale, low score: repaired
          budget = budget - 1
        end
      end
      if #free > 1 then                                           -- a tie: the fewest calls today
        local tied = {}
        for i, j in ipairs(free) do tied[i] = names[j] end
        local zones = redis.call('HMGET', KEYS[5], unpack(tied))
        if not policy.mids then policy.mids, policy.zone_of = {}, {} end
        for i = 1, #tied do policy.zone_of[tied[i]] = zones[i] or '' end
        local best_j = free[1]                                    -- the least recently used
        local best_today = calls_today(names[best_j], logs[best_j], math.huge)
        for i = 2, #free do                                       -- a later one only with fewer
          if best_today == 0 then break end
          local j = free[i]
          local today = calls_today(names[j], logs[j], best_today)
          if today < best_today then best_j, best_today = j, today end
        end
        free = {best_j}
      end
      local j = free[1]
      if j and take(names[j], logs[j], ladder) then return names[j] end
      if j then                                                   -- it left the pool: out of the index
        redis.call('ZREM', key, names[j])
        budget = budget - 1
      elseif #names < CANDIDATES then
        return nil
      end
      if budget <= 0 then return false end
    end
  end
end

local out, pool_waits = {}, false
for c = 1, wanted do
  local sticky, ia, ir, iz = string.match(ARGV[3 + c], '^(%S+) (%d+) (%d+) (%d+)$')
  local ladder = {}
  if ia ~= '0' then ladder[1] = tonumber(ia) end
  if ir ~= '0' then ladder[#ladder + 1] = tonumber(ir) end
  if iz ~= '0' then ladder[#ladder + 1] = tonumber(iz) end
  local number
  if sticky ~= '-' and redis.call('ZSCORE', pool, sticky) then
    -- A retry: its number or nothing; it waits for it when paced.
    local log
    if checked then log = redis.call('HGET', state, sticky)
    else
      local tail = check({sticky})
      if not tail then return reply(NOT_READY, {}) end
      log = tail[1]
    end
    local at = claimable(sticky, log)
    if at <= now and take(sticky, log, ladder) then out[c] = sticky
    else out[c] = '~' .. string.format('%d', at - now) end
  else
    for i = 1, #ladder do
      number = pick(KEYS[ladder[i]], ladder)
      if number ~= nil then break end
    end
    if number == nil then number = pick(pool, ladder) end
    if number == NOT_READY then return reply(NOT_READY, {}) end
    if number == false then return reply(0, out) end        -- budget spent: the rest ask again
    if number == nil then out[c], pool_waits = '-', true else out[c] = number end
  end
end

-- When a call waits for the pool: its lowest score, a lower bound of when a number frees up (every entry
-- met was repaired); or the pool is empty. Otherwise 0: a hint that numbers may be free now.
if not checked and not check({}) then return reply(NOT_READY, {}) end   -- no call
local status = 0
if pool_waits then
  local top = redis.call('ZRANGE', pool, '0', '0', 'WITHSCORES')
  if not top[1] then return reply(EMPTY, out) end
  if tonumber(top[2]) > now then status = math.ceil(tonumber(top[2])) - now end
end
return reply(status, out)
