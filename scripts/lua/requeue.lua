-- requeue: puts dead jobs back to run again, atomically and at most once each.
-- ARGV[3]: "1" for a dry run; ARGV[4]: "all" to take every dead job of the queues, else
-- "ids"; ARGV[5..]: queue names, then '--', then task ids (for "ids").
--
-- A job is requeued only while it is in its queue's dead set: it leaves the set, its
-- attempt state is reset (attempts 0, status Pending, no lock, no result; the last
-- result is kept as result_before_requeue) and its id goes to the tail of the active
-- list, where a worker's next fetch (LRANGE of the head) takes it. Running this again
-- finds the job no longer dead and changes nothing.
local t = now()
local dry = ARGV[3] == '1'
local all = ARGV[4] == 'all'
local queues, ids = {}, {}
local into = queues
for i = 5, #ARGV do
  if ARGV[i] == '--' then into = ids else into[#into + 1] = ARGV[i] end
end

-- {queue, id} pairs to consider
local targets = {}
if all then
  for _, q in ipairs(queues) do
    for _, id in ipairs(redis.call('SMEMBERS', key(q, 'dead'))) do targets[#targets + 1] = { q, id } end
  end
else
  for _, id in ipairs(ids) do
    local found = nil
    for _, q in ipairs(queues) do
      if redis.call('SISMEMBER', key(q, 'dead'), id) == 1 then found = q; break end
    end
    if not found then
      for _, q in ipairs(queues) do
        if redis.call('HEXISTS', key(q, 'data'), id) == 1 then found = q; break end
      end
    end
    targets[#targets + 1] = { found, id }
  end
end

local counts = { requeued = 0, would_requeue = 0, skipped = 0, not_found = 0 }
local items, rows = {}, {}
for _, target in ipairs(targets) do
  local q, id = target[1], target[2]
  local outcome, detail, err
  if not q then
    outcome, detail = 'not_found', 'no such task under prefix ' .. PREFIX
  else
    local meta = key(q, 'meta:' .. id)
    local result = redis.call('HGET', meta, 'result')
    err = failure(result or nil)
    if redis.call('SISMEMBER', key(q, 'dead'), id) == 0 then
      local info = task_info(q, id, t, {})
      outcome, detail = 'skipped', 'not dead (state: ' .. (info and info.state or 'unknown') .. '), left alone'
    elseif redis.call('HEXISTS', key(q, 'data'), id) == 0 then
      outcome, detail = 'skipped', 'its arguments are gone; it cannot run'
    elseif dry then
      outcome, detail = 'would_requeue', 'dry run: nothing changed'
    else
      redis.call('SREM', key(q, 'dead'), id)
      if result then redis.call('HSET', meta, 'result_before_requeue', result) end
      redis.call('HDEL', meta, 'result', 'done_at', 'locked_at', 'locked_by')
      redis.call('HSET', meta, 'attempts', 0, 'status', 'Pending', 'requeued_at', t)
      redis.call('HINCRBY', meta, 'requeues', 1)
      redis.call('ZREM', key(q, 'scheduled'), id)
      redis.call('LREM', key(q, 'active'), 0, id)
      redis.call('RPUSH', key(q, 'active'), id)
      outcome, detail = 'requeued', 'in the active list; the next fetch of a ' .. q .. ' worker runs it'
    end
  end
  counts[outcome] = counts[outcome] + 1
  if JSON then
    items[#items + 1] = jo({ { 'task_id', js(id) }, { 'queue', js(q) }, { 'outcome', js(outcome) },
      { 'detail', js(detail) }, { 'error', js(err) } })
  else
    rows[#rows + 1] = { outcome, q or '-', id, detail }
  end
end

-- The first line tells the shell script how many named tasks were not found.
local head = '@not_found ' .. counts.not_found .. '\n'
if JSON then
  return head .. jo({ { 'prefix', js(PREFIX) }, { 'dry_run', jb(dry) }, { 'requeued', jn(counts.requeued) },
    { 'would_requeue', jn(counts.would_requeue) }, { 'skipped', jn(counts.skipped) },
    { 'not_found', jn(counts.not_found) }, { 'tasks', ja(items) } })
end
if #rows == 0 then return head .. 'no dead jobs to requeue under prefix "' .. PREFIX .. '"' end
local summary
if dry then
  summary = counts.would_requeue .. ' would be requeued, ' .. counts.skipped .. ' skipped (dry run: nothing changed)'
else
  summary = counts.requeued .. ' requeued, ' .. counts.skipped .. ' skipped'
end
if counts.not_found > 0 then summary = summary .. ', ' .. counts.not_found .. ' not found' end
return head .. columns({ 'OUTCOME', 'QUEUE', 'TASK_ID', 'DETAIL' }, rows) .. '\n\n' .. summary
