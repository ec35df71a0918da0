-- trim: one SSCAN step over a queue's done or dead set, deleting the jobs that finished
-- at or before the cutoff: the id, its arguments and its metadata. ARGV[3]: queue,
-- ARGV[4]: "done" or "dead", ARGV[5]: cutoff (Unix seconds), ARGV[6]: "1" for a dry
-- run, ARGV[7]: SSCAN cursor, ARGV[8] (optional): "1" to count a job with no finish
-- time as old (the worker's retention does; scripts/trim keeps such jobs).
-- Returns "cursor removed kept".
local q, set, cutoff, dry, cursor = ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6] == '1', ARGV[7]
local undated_is_old = ARGV[8] == '1'

local res = redis.call('SSCAN', key(q, set), cursor, 'COUNT', 500)
local removed, kept = 0, 0
for _, id in ipairs(res[2]) do
  local done_at = tonumber(redis.call('HGET', key(q, 'meta:' .. id), 'done_at') or '')
  if (done_at and done_at <= cutoff) or (done_at == nil and undated_is_old) then
    if not dry then
      redis.call('SREM', key(q, set), id)
      redis.call('HDEL', key(q, 'data'), id)
      redis.call('DEL', key(q, 'meta:' .. id))
    end
    removed = removed + 1
  else
    kept = kept + 1
  end
end
return res[1] .. ' ' .. removed .. ' ' .. kept
