-- Moves due ids from a queue's scheduled set to its active list, a chunk at a time,
-- so no single unpack holds more than ARGV[2] ids.
-- KEYS[1] scheduled zset, KEYS[2] active list
-- ARGV[1] now (unix seconds), ARGV[2] chunk size, ARGV[3] most ids to move this call
local chunk = tonumber(ARGV[2])
local most = tonumber(ARGV[3])
local moved = 0
while moved < most do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, chunk)
  if #ids == 0 then break end
  redis.call('RPUSH', KEYS[2], unpack(ids))
  redis.call('ZREM', KEYS[1], unpack(ids))
  moved = moved + #ids
end
return moved
