-- dead: the dead jobs of every queue, most recent first.
-- ARGV[3]: how many to list; ARGV[4..]: queue names.
local t = now()
local limit = tonumber(ARGV[3])
local all = {}
for i = 4, #ARGV do
  local q = ARGV[i]
  for _, id in ipairs(redis.call('SMEMBERS', key(q, 'dead'))) do
    local m = redis.call('HMGET', key(q, 'meta:' .. id), 'done_at', 'attempts', 'locked_by', 'result', 'status', 'requeues')
    all[#all + 1] = {
      queue = q, id = id, done_at = num(m[1]), attempts = num(m[2]), worker = m[3] or nil,
      result = m[4] or nil, status = m[5] or nil, requeues = num(m[6]),
      has_args = redis.call('HEXISTS', key(q, 'data'), id) == 1,
    }
  end
end
table.sort(all, function(a, b)
  local x, y = a.done_at or 0, b.done_at or 0
  if x ~= y then return x > y end
  return a.id > b.id
end)

local shown = math.min(limit, #all)
if JSON then
  local items = {}
  for i = 1, shown do
    local d = all[i]
    local args = redis.call('HGET', key(d.queue, 'data'), d.id)
    items[#items + 1] = jo({
      { 'queue', js(d.queue) }, { 'task_id', js(d.id) }, { 'status', js(d.status) },
      { 'attempts', jn(d.attempts) }, { 'died_at', jn(d.done_at) },
      { 'died_secs_ago', jn(d.done_at and math.max(0, t - d.done_at)) }, { 'worker', js(d.worker) },
      { 'error', js(failure(d.result)) }, { 'result', jraw(d.result) }, { 'args', jraw(args) },
      { 'requeues', jn(d.requeues or 0) },
    })
  end
  return jo({ { 'prefix', js(PREFIX) }, { 'now', jn(t) }, { 'total', jn(#all) }, { 'shown', jn(shown) },
    { 'dead', ja(items) } })
end
if #all == 0 then return 'no dead jobs under prefix "' .. PREFIX .. '"' end
local rows = {}
for i = 1, shown do
  local d = all[i]
  local why = failure(d.result) or d.result or d.status
  if not d.has_args then why = '(arguments gone, cannot requeue) ' .. (why or '') end
  rows[#rows + 1] = { d.queue, d.id, d.done_at and age(t - d.done_at) or '-', d.attempts or '-',
    d.worker or '-', clip(why, 70) }
end
return columns({ 'QUEUE', 'TASK_ID', 'DIED_AGO', 'ATTEMPTS', 'WORKER', 'ERROR' }, rows)
  .. '\n\n' .. shown .. ' of ' .. #all .. ' dead job(s). scripts/task TASK_ID shows one in full;'
  .. ' scripts/requeue TASK_ID runs it again.'
