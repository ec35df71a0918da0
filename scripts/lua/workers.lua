-- workers: every registered worker of every queue, its last heartbeat and the jobs it
-- holds; inflight sets of workers that are no longer registered are listed too.
-- ARGV[3]: orphan threshold in seconds; ARGV[4..]: queue names, '--', inflight set keys.
local t = now()
local threshold = tonumber(ARGV[3])
local queues, extra = {}, {}
local into = queues
for i = 4, #ARGV do
  if ARGV[i] == '--' then into = extra else into[#into + 1] = ARGV[i] end
end

local rows, items = {}, {}
local orphans, unregistered = 0, 0
local function add(q, name, beat, held, state)
  local ago = nil
  if beat then ago = math.max(0, t - beat) end
  if state == 'orphaned' then orphans = orphans + 1 end
  if state == 'unregistered' then unregistered = unregistered + 1 end
  if JSON then
    items[#items + 1] = jo({
      { 'queue', js(q) }, { 'worker', js(name) }, { 'last_heartbeat', jn(beat) },
      { 'heartbeat_age_secs', jn(ago) }, { 'inflight', jn(held) }, { 'state', js(state) },
      { 'orphaned', jb(state ~= 'alive') },
    })
  else
    rows[#rows + 1] = { q, name, ago and age(ago) or '-', held, string.upper(state) }
  end
end

for _, q in ipairs(queues) do
  local base = key(q, 'inflight:')
  local registered = {}
  for _, w in ipairs(workers_of(q)) do
    registered[base .. w.name] = true
    local state = 'alive'
    if t - w.beat > threshold then state = 'orphaned' end
    add(q, w.name, w.beat, redis.call('SCARD', base .. w.name), state)
  end
  for _, k in ipairs(extra) do
    if not registered[k] and string.sub(k, 1, #base) == base then
      registered[k] = true
      local held = redis.call('SCARD', k)
      if held > 0 then add(q, string.sub(k, #base + 1), nil, held, 'unregistered') end
    end
  end
end

if JSON then
  return jo({ { 'prefix', js(PREFIX) }, { 'now', jn(t) }, { 'orphan_after_secs', jn(threshold) },
    { 'orphaned', jn(orphans) }, { 'unregistered', jn(unregistered) }, { 'workers', ja(items) } })
end
if #rows == 0 then return 'no workers under prefix "' .. PREFIX .. '"' end
local out = columns({ 'QUEUE', 'WORKER', 'HEARTBEAT', 'INFLIGHT', 'STATE' }, rows)
if orphans > 0 then
  out = out .. '\n\nORPHANED: ' .. orphans .. ' worker(s) without a heartbeat for over ' .. threshold .. 's. A live worker'
    .. '\nof the same queue moves their jobs back to active at its next heartbeat; with none alive they wait.'
end
if unregistered > 0 then
  out = out .. '\n\nUNREGISTERED: ' .. unregistered .. ' inflight set(s) with no registered worker; nothing re-queues'
    .. '\ntheir jobs. The reconciler re-pushes the work SQL still owes; scripts/task shows each job.'
end
return out
