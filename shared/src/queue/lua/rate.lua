-- Fixed one-second window send budget for one WhatsApp number.
-- KEYS[1] key prefix; ARGV[1] now (unix seconds), ARGV[2] wanted, ARGV[3] limit per second
local key = KEYS[1] .. ':' .. ARGV[1]
local used = tonumber(redis.call('GET', key) or '0')
local grant = math.min(tonumber(ARGV[2]), tonumber(ARGV[3]) - used)
if grant <= 0 then return 0 end
redis.call('INCRBY', key, grant)
redis.call('EXPIRE', key, 5)
return grant
