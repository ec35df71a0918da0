-- task: everything Redis holds about one job.
-- ARGV[3]: task id; ARGV[4]: orphan threshold (s); ARGV[5..]: queues, '--', inflight keys.
local t = now()
local id = ARGV[3]
local threshold = tonumber(ARGV[4])
local queues, extra = {}, {}
local into = queues
for i = 5, #ARGV do
  if ARGV[i] == '--' then into = extra else into[#into + 1] = ARGV[i] end
end

local info = nil
for _, q in ipairs(queues) do
  info = task_info(q, id, t, extra)
  if info then break end
end
if not info then
  local names = table.concat(queues, ', ')
  if names == '' then names = 'none found' end
  return '!task ' .. id .. ' not found under prefix "' .. PREFIX .. '" (queues: ' .. names
    .. '). Finished jobs are deleted after QUEUE_RETENTION_SECS or by scripts/trim.'
end

local q = info.queue
local orphaned = info.worker ~= nil and (info.worker_beat == nil or t - info.worker_beat > threshold)
local hint
if info.state == 'scheduled' then
  hint = 'runs at ' .. when(info.run_at, t)
elseif info.state == 'due' then
  hint = 'due since ' .. age(t - info.run_at) .. '; the next fetch of a ' .. q .. ' worker takes it'
  if redis.call('ZCARD', key(q, 'workers')) == 0 then hint = hint .. ' (no worker is registered on ' .. q .. ')' end
elseif info.state == 'active' then
  hint = 'position ' .. info.position .. ' in the active list; the next fetch of a ' .. q .. ' worker takes it'
elseif info.state == 'inflight' then
  hint = 'held by worker ' .. info.worker
  if info.worker_beat then hint = hint .. ', last heartbeat ' .. age(t - info.worker_beat) .. ' ago' end
  if orphaned then
    hint = hint .. '; the worker is ORPHANED (no heartbeat for over ' .. threshold .. 's): a live '
      .. q .. ' worker moves the job back to active'
  end
elseif info.state == 'done' then
  hint = 'finished'
elseif info.state == 'dead' then
  hint = 'out of attempts or aborted; scripts/requeue ' .. id .. ' runs it again'
else
  hint = 'in no list, so nothing will run it; the reconciler re-pushes the work SQL still owes'
end
local err = failure(info.result)

local extra_meta = {}
for k, v in pairs(info.meta) do
  if not META_KNOWN[k] then extra_meta[#extra_meta + 1] = k end
end
table.sort(extra_meta)

if JSON then
  local m = {}
  for _, k in ipairs(extra_meta) do m[#m + 1] = { k, js(info.meta[k]) } end
  return jo({
    { 'task_id', js(id) }, { 'queue', js(q) }, { 'state', js(info.state) }, { 'hint', js(hint) },
    { 'status', js(info.status) }, { 'attempts', jn(info.attempts) }, { 'max_attempts', jn(info.max_attempts) },
    { 'args', jraw(info.args) }, { 'result', jraw(info.result) }, { 'error', js(err) },
    { 'worker', js(info.worker or info.locked_by) }, { 'worker_orphaned', jb(orphaned) },
    { 'position', jn(info.position) }, { 'run_at', jn(info.run_at) },
    { 'created_at', jn(info.created_at) }, { 'locked_at', jn(info.locked_at) },
    { 'done_at', jn(info.done_at) }, { 'requeued_at', jn(info.requeued_at) },
    { 'requeues', jn(info.requeues or 0) }, { 'result_before_requeue', jraw(info.meta.result_before_requeue) },
    { 'idempotency_key', js(info.meta.idempotency_key ~= '' and info.meta.idempotency_key or nil) },
    { 'meta', jo(m) }, { 'now', jn(t) },
  })
end

local rows = {}
local function add(k, v) if v ~= nil and v ~= '' then rows[#rows + 1] = { k, tostring(v) } end end
add('task', id)
add('queue', q .. ' (' .. PREFIX .. ':' .. q .. ')')
add('state', info.state .. ': ' .. hint)
add('attempts', (info.attempts or '?') .. ' of ' .. (info.max_attempts or '?') .. ' (status ' .. (info.status or '?') .. ')')
add('args', info.args)
add('result', info.result)
add('error', err)
if info.worker then
  add('worker', info.worker)
elseif info.locked_by then
  add('worker', info.locked_by .. ' (last to take it)')
end
add('created', when(info.created_at, t))
add('run_at', info.state == 'scheduled' and when(info.run_at, t) or nil)
add('locked', when(info.locked_at, t))
add('finished', when(info.done_at, t))
if info.requeued_at then
  add('requeued', when(info.requeued_at, t) .. ', ' .. (info.requeues or 1) .. ' time(s)')
  add('before', info.meta.result_before_requeue)
end
add('idem_key', info.meta.idempotency_key)
for _, k in ipairs(extra_meta) do add(k, info.meta[k]) end
local lines = {}
for _, r in ipairs(rows) do
  local v = string.gsub(r[2], '\n', '\n          ')
  lines[#lines + 1] = string.format('%-9s %s', r[1], v)
end
return table.concat(lines, '\n')
