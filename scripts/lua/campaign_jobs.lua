-- campaign: one HSCAN step (1000 fields) over a queue's data hash, keeping the jobs
-- whose arguments name the campaign; or, with ARGV[6] = "ids", the given ids.
-- ARGV[3]: campaign id; ARGV[4]: orphan threshold (s); ARGV[5]: queue;
-- ARGV[6]: HSCAN cursor, or "ids" followed by task ids.
-- First line: the next cursor. Then one line per job, tab-separated: queue, id, state,
-- attempts, arguments as JSON, error as a JSON string, detail (with the error),
-- seconds since it finished.
local t = now()
local campaign = ARGV[3]
local threshold = tonumber(ARGV[4])
local q = ARGV[5]
local ids, next_cursor = {}, '0'
if ARGV[6] == 'ids' then
  for i = 7, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  local res = redis.call('HSCAN', key(q, 'data'), ARGV[6], 'COUNT', 1000)
  next_cursor = res[1]
  for i = 1, #res[2] - 1, 2 do
    if string.find(res[2][i + 1], campaign, 1, true) then ids[#ids + 1] = res[2][i] end
  end
end
local out = { next_cursor }
for _, id in ipairs(ids) do
  local info = task_info(q, id, t, {})
  local ok, args = false, nil
  if info then ok, args = pcall(cjson.decode, info.args) end
  if ok and type(args) == 'table' and args.campaign_id == campaign then
    local err = failure(info.result)
    local detail = '-'
    if info.state == 'scheduled' then detail = 'runs in ' .. age(info.run_at - t)
    elseif info.state == 'due' then detail = 'due ' .. age(t - info.run_at) .. ' ago'
    elseif info.state == 'active' then detail = 'position ' .. info.position
    elseif info.state == 'inflight' then
      detail = info.worker
      if info.worker_beat == nil or t - info.worker_beat > threshold then detail = detail .. ' (ORPHANED)' end
    elseif info.done_at then detail = 'finished ' .. age(t - info.done_at) .. ' ago'
    end
    if err then detail = detail .. '; error: ' .. clip(err, 60) end
    out[#out + 1] = table.concat({ q, id, info.state, tostring(info.attempts or 0), jraw(info.args),
      js(err), detail, info.done_at and tostring(t - info.done_at) or '' }, '\t')
  end
end
return table.concat(out, '\n')
