-- queue-stats: per queue, jobs scheduled (due now / later), active, in flight, done,
-- dead, and the oldest waiting job.
-- ARGV[3..]: queue names, then '--', then inflight set keys found by SCAN.
local t = now()
local queues, extra = {}, {}
local into = queues
for i = 3, #ARGV do
  if ARGV[i] == '--' then into = extra else into[#into + 1] = ARGV[i] end
end

local rows, items = {}, {}
for _, q in ipairs(queues) do
  local due = redis.call('ZCOUNT', key(q, 'scheduled'), '-inf', t)
  local later = redis.call('ZCOUNT', key(q, 'scheduled'), '(' .. t, '+inf')
  local active = redis.call('LLEN', key(q, 'active'))
  -- In flight: the sets of registered workers plus any other inflight set found.
  local seen, inflight = {}, 0
  local base = key(q, 'inflight:')
  for _, w in ipairs(workers_of(q)) do
    seen[base .. w.name] = true
    inflight = inflight + redis.call('SCARD', base .. w.name)
  end
  for _, k in ipairs(extra) do
    if not seen[k] and string.sub(k, 1, #base) == base then
      seen[k] = true
      inflight = inflight + redis.call('SCARD', k)
    end
  end
  local done = redis.call('SCARD', key(q, 'done'))
  local dead = redis.call('SCARD', key(q, 'dead'))
  local workers = redis.call('ZCARD', key(q, 'workers'))
  -- Oldest waiting: the earliest due scheduled job, or the head of `active`.
  local oldest, oldest_id = nil, nil
  local first = redis.call('ZRANGEBYSCORE', key(q, 'scheduled'), '-inf', t, 'WITHSCORES', 'LIMIT', 0, 1)
  if #first == 2 then
    oldest, oldest_id = waiting_since(q, first[1], first[2]), first[1]
  end
  local head = redis.call('LINDEX', key(q, 'active'), 0)
  if head then
    local since = waiting_since(q, head, nil)
    if since and (oldest == nil or since < oldest) then oldest, oldest_id = since, head end
  end
  local wait = nil
  if oldest then wait = math.max(0, t - oldest) end
  if JSON then
    items[#items + 1] = jo({
      { 'queue', js(q) }, { 'scheduled_due', jn(due) }, { 'scheduled_later', jn(later) },
      { 'active', jn(active) }, { 'inflight', jn(inflight) }, { 'done', jn(done) },
      { 'dead', jn(dead) }, { 'workers', jn(workers) },
      { 'oldest_waiting_secs', jn(wait) }, { 'oldest_waiting_task_id', js(oldest_id) },
    })
  else
    rows[#rows + 1] = { q, due, later, active, inflight, done, dead, workers, wait and age(wait) or '-' }
  end
end

if JSON then
  return jo({ { 'prefix', js(PREFIX) }, { 'now', jn(t) }, { 'queues', ja(items) } })
end
if #queues == 0 then
  return 'no queues under prefix "' .. PREFIX .. '" (check WAPLIFY_QUEUE_PREFIX and REDIS_URL)'
end
return columns({ 'QUEUE', 'DUE', 'LATER', 'ACTIVE', 'INFLIGHT', 'DONE', 'DEAD', 'WORKERS', 'OLDEST_WAITING' }, rows)
