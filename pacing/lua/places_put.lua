-- places_put.lua: put numbers of a pool in its presence indexes (lua/presence.lua), after pool_put.lua.
-- KEYS[1] pool ZSET, KEYS[2] the pool's index registry SET (their tags), KEYS[3..] the indexes
-- ARGV: 'number i j ...' per number: the KEYS indexes of its area code's, region's and zone's indexes
-- A number enters an index at its pool score (a lower bound, as every index score); one already there
-- keeps its own. Numbers that left the pool stay in the indexes until a claim meets them and drops them.

local pool = KEYS[1]
for k = 3, #KEYS do
  redis.call('SADD', KEYS[2], string.match(KEYS[k], '~(.*)$'))
end
for a = 1, #ARGV do
  local number, rest = string.match(ARGV[a], '^(%S+)(.*)$')
  local score = redis.call('ZSCORE', pool, number)
  if score then
    for k in string.gmatch(rest, '%d+') do
      redis.call('ZADD', KEYS[tonumber(k)], 'NX', score, number)
    end
  end
end
return #ARGV
