-- One SSCAN step over a done/dead set: drops ids finished before ARGV[1], with their
-- payload and metadata.
-- KEYS[1] the set, KEYS[2] task data hash, KEYS[3] task meta key prefix
-- ARGV[1] cutoff (unix seconds), ARGV[2] scan count, ARGV[3] cursor
local res = redis.call('SSCAN', KEYS[1], ARGV[3], 'COUNT', ARGV[2])
local cutoff = tonumber(ARGV[1])
local removed = 0
for _, id in ipairs(res[2]) do
  local meta = KEYS[3] .. ':' .. id
  local done_at = tonumber(redis.call('HGET', meta, 'done_at') or '0') or 0
  if done_at <= cutoff then
    redis.call('SREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('DEL', meta)
    removed = removed + 1
  end
end
return {res[1], removed}
