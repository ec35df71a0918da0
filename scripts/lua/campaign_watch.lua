-- campaign --watch: one GET /api/v1/campaigns/{id}/stats body (ARGV[3]) as one
-- tab-separated line: status, total, sent, delivered, read, failed, cancelled.
-- A body that is not the stats answer is a refusal.
local ok, s = pcall(cjson.decode, ARGV[3] or '')
if not ok or type(s) ~= 'table' or type(s.campaign_status) ~= 'string' then
  return '!the stats answer is not JSON with a campaign_status: ' .. string.sub(ARGV[3] or '', 1, 200)
end
local function n(k)
  local v = s[k]
  if type(v) ~= 'number' then return '0' end
  return string.format('%d', v)
end
return table.concat({ s.campaign_status, n('total_contacts'), n('sent_count'), n('delivered_count'),
  n('read_count'), n('failed_count'), n('cancelled_count') }, '\t')
