-- campaign: the API's answers, checked. ARGV[3]: GET /api/v1/campaigns/{id} body,
-- ARGV[4]: GET /api/v1/campaigns/{id}/stats body. Four lines: both bodies as valid JSON,
-- the campaign's task_id (or empty), and a one-line summary of the stats.
local function decode(s)
  local ok, v = pcall(cjson.decode, s or '')
  if ok and type(v) == 'table' then return v end
  return {}
end
local c, s = decode(ARGV[3]), decode(ARGV[4])
local task_id = ''
if type(c.task_id) == 'string' then task_id = c.task_id end
local function n(k) if s[k] == nil then return '?' end return tostring(s[k]) end
local summary = 'status ' .. n('campaign_status') .. ', ' .. n('total_contacts') .. ' recipients: '
  .. n('sent_count') .. ' sent, ' .. n('delivered_count') .. ' delivered, ' .. n('read_count') .. ' read, '
  .. n('failed_count') .. ' failed'
return table.concat({ jraw(ARGV[3]), jraw(ARGV[4]), task_id, summary }, '\n')
