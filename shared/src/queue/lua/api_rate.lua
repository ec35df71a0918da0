-- Counts one API request in the caller's current fixed window. The window is read
-- from the Redis clock, so every API process agrees on where windows start.
-- KEYS[1] key prefix for this API key's windows; ARGV[1] window length (seconds)
-- Returns {requests in this window including this one, window end (unix seconds),
--          now (unix seconds)}.
local now = tonumber(redis.call('TIME')[1])
local window = tonumber(ARGV[1])
local window_end = now - (now % window) + window
local key = KEYS[1] .. ':' .. window_end
local n = redis.call('INCR', key)
if n == 1 then redis.call('EXPIRE', key, window + 5) end
return {n, window_end, now}
