-- Picks the first second at or after ARGV[1] whose retry count is below ARGV[2],
-- and counts this retry in it.
-- KEYS[1] key prefix for per-second counters
local wanted = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
for i = 0, 86400 do
  local key = KEYS[1] .. ':' .. (wanted + i)
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, 86400 + i) end
  if n <= cap then return wanted + i end
end
return wanted
