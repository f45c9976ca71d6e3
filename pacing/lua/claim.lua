-- claim.lua: claim up to K caller IDs from a pool, the earliest-free numbers whose gap, rolling windows and
-- daily cap allow an attempt now, and record the attempts, atomically. One call per decision or per batch.
--
-- KEYS[1] pool   ZSET  number -> pool_score (log.lua): a lower bound of when it frees up (<= now if it
--                      may be free); the log decides, so a stale score only costs a repair
-- KEYS[2] state  HASH  number -> attempt log (log.lua); '~ready:2' -> set by a rebuild (Pacer._READY);
--                      '~policy:<pool key>' -> the policy the pool was last scored under
-- KEYS[3] callers HASH number -> id of its provider connection (numbers without one: no rate)
-- KEYS[4] rates   HASH connection id -> its token bucket: the theoretical arrival time (GCRA), ms as text
-- KEYS[5] zones   HASH number -> its time zone, read only for a number near its daily cap (log.lua)
-- KEYS[6] firsts  HASH number -> the local midnight its first attempt's day began at, for a warm-up ramp:
--                      read only for a number near its day's cap, written at its first attempt (log.lua)
-- KEYS[7] classes HASH number -> its policy class in a mixed pool: given, and read, only with ARGV[3]
-- ARGV[1] the policy, now_ms and K (claims wanted), packed (log.lua read_decision): the policy of every
--   number of the pool; with classes, of a number whose class is missing or not given
-- ARGV[2] the local midnights of the pool's zones ('' without a daily cap; log.lua day_bounds)
-- ARGV[3] the pool's policy classes ('' for none: log.lua read_classes): each number is decided, scored
--   and trimmed under its own class's policy, and the candidates stay in one order (earliest free, then
--   least recently used) across the classes. A claim with classes reads each candidate's class with its
--   log (one more HGET for a single claim, one more HMGET per window of a batch).
-- ARGV[4], ARGV[5], ...: connection id, 'interval_ms tolerance_ms' (Pacer.Rate) for each rated connection:
--   a claim from a number of that connection needs a token too. A number whose connection has none is
--   skipped (re-scored no earlier than the connection's next token, so it stops crowding the others),
--   and once every rated connection is out of tokens the claim stops: the status is then when the first
--   token frees up. A number of a connection not given here has no rate.
-- Returns 'status now_ms number_1 ... number_k' (k <= K), split on whitespace: one string, which
-- redis-py parses faster than an array (numbers are E.164, free of spaces). status:
--   >= 0  ms until a claim can next succeed; exact when k < K (no number frees up sooner) and no rate was
--         given, a lower bound with rates (a token the number waits for may go to another number first);
--         when k = K a hint (0: another number may be free now). Also 0 when the repair budget ran out:
--         ask again.
--   -1    the pool is empty;  -2  the workspace is not initialised: rebuild from the database first
--
-- Every key is passed in KEYS and shares the workspace hash tag, so this runs on Redis Cluster, also
-- during a slot migration: the logs are fields of one hash, not keys named in here. A single claim is
-- four commands: ZRANGE, HMGET (readiness, policy stamp and the top's log at once), HSET, ZADD, and an HGET
-- of its zone when a daily cap may hold the number (log.lua next_free); a claim in a batch about two
-- (see the candidates below).

local pool, state, callers, buckets = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local policy, now, wanted, stamp = read_decision(ARGV[1], ARGV[2], KEYS[5], KEYS[6])
local classes = read_classes(ARGV[3], policy)
stamp = stamp .. ARGV[3]                  -- a pool is scored under its classes' policies too
local class_of = classes and {}           -- number -> its class key, false for none, as read
-- The number's policy: its class's, else `policy` (defined only for a mixed pool: a closure costs).
local policy_for = classes and function(number)
  local key = class_of[number]
  if key == nil then
    key = redis.call('HGET', KEYS[7], number) or false
    class_of[number] = key
  end
  return key and classes[key] or policy
end
local rates, rated = {}, 0                -- connection id -> {interval, tau, tat, blocked}
for a = 4, #ARGV - 1, 2 do
  local interval, tau = string.match(ARGV[a + 1], '^(%S+) (%S+)$')
  rates[ARGV[a]] = {interval = tonumber(interval), tau = tonumber(tau)}
  rated = rated + 1
end
local blocked, blocked_at = 0, nil        -- connections found without a token; the first one's next token
local stamp_field = '~policy:' .. pool
local REPAIR_BUDGET = 64                  -- stale scores fixed per call at most: bounds the script's time
local NOT_READY, EMPTY = -2, -1

-- Every call runs this whole chunk, so it defines no function it may not need (each costs its closure
-- and the upvalues it captures), and numbers go to redis.call as text: it would print them with '%.17g'.

local function reply(status, numbers)
  for conn, b in pairs(rates) do
    if b.taken then redis.call('HSET', buckets, conn, string.format('%.3f', b.tat)) end
  end
  return string.format('%d %d %s', status, now, table.concat(numbers, ' '))
end

-- The number's connection's bucket, nil if the number has no rate. A claim conforms when the bucket's
-- theoretical arrival time (tat) is at most tau ahead of now; each claim moves it one interval on.
local function bucket_of(number)
  local conn = redis.call('HGET', callers, number)
  local b = conn and rates[conn]
  if b and not b.tat then b.tat = tonumber(redis.call('HGET', buckets, conn) or '0') end
  return b
end

-- The candidates, in score order: first the top and the runner-up, whose score bounds the hint, with the
-- top's log. A batch wanting more reads the next ones a window at a time: one ZRANGE for up to WINDOW
-- and the next, one HMGET for the logs of those that may be free now, so a claim in a batch costs its
-- two writes and a share of those two reads, not four commands.
local WINDOW = 100                        -- candidates read at once at most: bounds a read and unpack()
local window = redis.call('ZRANGE', pool, '0', '1', 'WITHSCORES')   -- number, score, number, score
local found = redis.call('HMGET', state, '~ready:2', stamp_field, window[1] or '~ready:2')
if not found[1] then return reply(NOT_READY, {}) end
local log = found[3]
if found[2] ~= stamp then
  -- Scored under another policy, the pool may hold scores that are too high (the policy was loosened)
  -- and would withhold free numbers: re-score it from the logs, once per policy change. O(pool size).
  rescore(pool, state, KEYS[7], class_of, policy_for, policy)
  redis.call('HSET', state, stamp_field, stamp)
  window = redis.call('ZRANGE', pool, '0', '1', 'WITHSCORES')
  log = window[1] and redis.call('HGET', state, window[1])
end

if not window[1] then return reply(EMPTY, {}) end
local claimed = {}
local budget = wanted + REPAIR_BUDGET
local i = 1                               -- the candidate: window[2i - 1], its score window[2i]
local logs                                -- logs read with a later window: logs[i], nil if not read
local complete = not window[3]            -- the window holds the whole pool
local lowest                              -- the lowest score written since the window was read
while #claimed < wanted do
  if budget == 0 then return reply(0, claimed) end
  budget = budget - 1
  local number = window[2 * i - 1]
  local p = policy_for and policy_for(number) or policy     -- the number's own policy
  local free = next_free(log, p, number)
  local at, b, ready = free, rated > 0 and bucket_of(number), nil  -- at: when it may be claimed
  if b then
    ready = math.ceil(b.tat - b.tau)                         -- the connection's next token
    if ready > now and not b.blocked then
      b.blocked, blocked = true, blocked + 1
      if not blocked_at or ready < blocked_at then blocked_at = ready end
      if blocked == rated then return reply(blocked_at - now, claimed) end  -- no token anywhere
    end
    if ready > at then at = ready end
  end
  -- Every other score is >= this one and scores are lower bounds, so nothing frees up sooner. The
  -- score is checked against the log (and the bucket), not trusted: it could be stale if the clock
  -- stepped back.
  if at > now and at == tonumber(window[2 * i]) then
    return reply((blocked_at and blocked_at < at and blocked_at or at) - now, claimed)
  end
  if at <= now then
    if b then
      b.tat, b.taken = (b.tat > now and b.tat or now) + b.interval, true
      ready = math.ceil(b.tat - b.tau)
    end
    if p.nramp > 0 and (not log or (p.first_of and p.first_of[number] == false)) then
      -- Its first attempt (or the first since a rebuild found none): day 0 of its warm-up starts today.
      local start = day_bounds(number, p, now)
      redis.call('HSETNX', KEYS[6], number, string.format('%d', start or now - now % 86400000))
    end
    log = with_attempt(log, now, p)
    redis.call('HSET', state, number, log)
    claimed[#claimed + 1] = number
  end
  -- After a claim, a number skipped for its connection's rate, or a stale score repaired. Skipped
  -- numbers score no earlier than their connection's next token, so they stop crowding the others.
  local score = pool_score(log, p, number)
  if ready and ready > score then score = ready end
  local score_arg = string.format('%d', score)
  if score <= now then
    -- Free again at once (pacing off): numbers used in the same millisecond would tie, and the first
    -- by name would take every call. Queue it a thousandth behind the last one used this millisecond.
    -- Only scores <= now get a fraction; the exact comparison above is for numbers still paced.
    -- (Formatted here: Lua prints numbers with 14 digits and would drop the fraction.)
    local last = redis.call('ZREVRANGEBYSCORE', pool, string.format('%.3f', now + 0.999), '-inf',
      'WITHSCORES', 'LIMIT', '0', '1')
    score_arg = string.format('%.3f', math.max(score, last[2] and tonumber(last[2]) or 0) + 0.001)
    score = tonumber(score_arg)
  end
  redis.call('ZADD', pool, score_arg, number)
  if not lowest or score < lowest then lowest = score end
  i = i + 1
  local next_score = window[2 * i] and tonumber(window[2 * i])
  if #claimed == wanted then                                 -- done: the hint is the lowest score now
    if not next_score and not complete then
      next_score = tonumber(redis.call('ZRANGE', pool, '0', '0', 'WITHSCORES')[2])
    end
    if next_score and next_score < lowest then lowest = next_score end
    if blocked_at and blocked_at < lowest then lowest = blocked_at end
    return reply(lowest > now and lowest - now or 0, claimed)
  end
  -- The next candidate: the window's next, unless the window is used up or a score written since it
  -- was read may come first; then the next window.
  if not next_score or lowest <= next_score then
    local want = math.min(wanted - #claimed, WINDOW)
    window = redis.call('ZRANGE', pool, '0', string.format('%d', want), 'WITHSCORES')
    complete = #window <= 2 * want
    local numbers = {window[1]}                              -- the first's log, and of those free now
    while #numbers < want and window[2 * #numbers + 2] and tonumber(window[2 * #numbers + 2]) <= now do
      numbers[#numbers + 1] = window[2 * #numbers + 1]
    end
    logs = redis.call('HMGET', state, unpack(numbers))
    if #numbers > 1 then
      prefetch_zones(numbers, policy)
      if classes then
        local keys = redis.call('HMGET', KEYS[7], unpack(numbers))
        for j = 1, #numbers do class_of[numbers[j]] = keys[j] or false end
      end
    end
    i, lowest = 1, nil
  end
  log = logs and logs[i]
  if log == nil then log = redis.call('HGET', state, window[2 * i - 1]) end
end
local hint = tonumber(window[2]) - now                       -- K = 0: the hint alone
return reply(hint > 0 and hint or 0, claimed)
