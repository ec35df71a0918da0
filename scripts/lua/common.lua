-- Shared prelude of the Redis ops scripts, prepended to each script before EVAL.
-- Every script gets ARGV[1] = the key prefix, ARGV[2] = "json" or "text", and its own
-- arguments from ARGV[3] on. Reading inside one script gives a consistent snapshot.
-- Key layout (apalis-redis 1.0.0): {prefix}:{queue}:{active|scheduled|workers|inflight:W|
-- data|meta:ID|done|dead}; see docs/operating.md, "Redis key layout". The services run
-- queue_stats, task and trim through the same files (shared/src/queue/ops.rs).

local PREFIX = ARGV[1]
local JSON = ARGV[2] == 'json'

local function now()
  return tonumber(redis.call('TIME')[1])
end

-- Key of one part of a queue, e.g. key('send', 'dead') = "waplify:send:dead".
local function key(queue, part)
  return PREFIX .. ':' .. queue .. ':' .. part
end

-- JSON building: every helper returns encoded JSON text.
local function js(s)
  if s == nil or s == false then return 'null' end
  return cjson.encode(tostring(s))
end

local function jn(n)
  if n == nil then return 'null' end
  return string.format('%d', tonumber(n))
end

local function jb(b)
  if b then return 'true' end
  return 'false'
end

-- An object from an ordered list of {key, encoded value} pairs.
local function jo(pairs_list)
  local parts = {}
  for _, kv in ipairs(pairs_list) do
    parts[#parts + 1] = cjson.encode(kv[1]) .. ':' .. kv[2]
  end
  return '{' .. table.concat(parts, ',') .. '}'
end

local function ja(encoded_items)
  return '[' .. table.concat(encoded_items, ',') .. ']'
end

-- A stored JSON document (task arguments, results) as JSON: decoded and encoded again,
-- so the output is valid JSON whatever was stored; text that is not JSON stays a string.
local function jraw(s)
  if s == nil or s == false then return 'null' end
  local ok, out = pcall(function() return cjson.encode(cjson.decode(s)) end)
  if ok then return out end
  return js(s)
end

-- Milliseconds since the epoch encoded in a ULID task id, or nil for other ids.
local CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
local function ulid_secs(id)
  if type(id) ~= 'string' or #id ~= 26 then return nil end
  local ms = 0
  for i = 1, 10 do
    local pos = string.find(CROCKFORD, string.upper(string.sub(id, i, i)), 1, true)
    if not pos then return nil end
    ms = ms * 32 + (pos - 1)
  end
  return math.floor(ms / 1000)
end

-- "42s", "3m05s", "2h10m", "3d04h".
local function age(secs)
  if secs == nil then return '-' end
  secs = math.floor(secs)
  local sign = ''
  if secs < 0 then sign = '-'; secs = -secs end
  if secs < 60 then return sign .. secs .. 's' end
  if secs < 3600 then return sign .. string.format('%dm%02ds', math.floor(secs / 60), secs % 60) end
  if secs < 86400 then
    return sign .. string.format('%dh%02dm', math.floor(secs / 3600), math.floor(secs % 3600 / 60))
  end
  return sign .. string.format('%dd%02dh', math.floor(secs / 86400), math.floor(secs % 86400 / 3600))
end

local function num(s)
  return tonumber(s)
end

-- Aligned columns: headers and rows of strings, two spaces between columns.
local function columns(headers, rows)
  local widths = {}
  for i, h in ipairs(headers) do widths[i] = #h end
  for _, row in ipairs(rows) do
    for i = 1, #headers do
      local cell = tostring(row[i] == nil and '-' or row[i])
      row[i] = cell
      if #cell > widths[i] then widths[i] = #cell end
    end
  end
  local lines = {}
  local function line(cells)
    local out = {}
    for i = 1, #headers do
      if i == #headers then
        out[i] = cells[i]
      else
        out[i] = cells[i] .. string.rep(' ', widths[i] - #cells[i])
      end
    end
    lines[#lines + 1] = table.concat(out, '  ')
  end
  line(headers)
  for _, row in ipairs(rows) do line(row) end
  return table.concat(lines, '\n')
end

-- One line of text at most `n` characters long.
local function clip(s, n)
  if s == nil then return '-' end
  s = string.gsub(tostring(s), '%s+', ' ')
  if #s > n then return string.sub(s, 1, n - 3) .. '...' end
  return s
end

-- The error text of a stored apalis result ({"Err":"..."}), else nil.
local function failure(result)
  if result == nil or result == false then return nil end
  local ok, v = pcall(cjson.decode, result)
  if ok and type(v) == 'table' and v.Err ~= nil then return tostring(v.Err) end
  return nil
end

-- Every worker of a queue with its last heartbeat, oldest first.
local function workers_of(queue)
  local flat = redis.call('ZRANGE', key(queue, 'workers'), 0, -1, 'WITHSCORES')
  local out = {}
  for i = 1, #flat, 2 do
    out[#out + 1] = { name = flat[i], beat = tonumber(flat[i + 1]) }
  end
  return out
end

local META_KNOWN = {
  attempts = true, max_attempts = true, status = true, idempotency_key = true,
  locked_at = true, locked_by = true, result = true, done_at = true,
  requeued_at = true, requeues = true, result_before_requeue = true,
}

-- Everything Redis holds about one task of one queue, or nil when the queue does not
-- hold its arguments. `extra_inflight` lists inflight set keys to search besides
-- those of the registered workers.
local function task_info(queue, id, t, extra_inflight)
  local args = redis.call('HGET', key(queue, 'data'), id)
  if not args then return nil end
  local flat = redis.call('HGETALL', key(queue, 'meta:' .. id))
  local meta = {}
  for i = 1, #flat, 2 do meta[flat[i]] = flat[i + 1] end
  local info = {
    queue = queue, id = id, args = args, meta = meta,
    attempts = num(meta.attempts), max_attempts = num(meta.max_attempts),
    status = meta.status, result = meta.result, locked_by = meta.locked_by,
    locked_at = num(meta.locked_at), done_at = num(meta.done_at),
    requeued_at = num(meta.requeued_at), requeues = num(meta.requeues),
    created_at = ulid_secs(id),
  }
  if redis.call('SISMEMBER', key(queue, 'dead'), id) == 1 then
    info.state = 'dead'
  elseif redis.call('SISMEMBER', key(queue, 'done'), id) == 1 then
    info.state = 'done'
  else
    local score = redis.call('ZSCORE', key(queue, 'scheduled'), id)
    if score then
      info.run_at = tonumber(score)
      if info.run_at <= t then info.state = 'due' else info.state = 'scheduled' end
    else
      local pos = redis.call('LPOS', key(queue, 'active'), id)
      if pos then
        info.state = 'active'
        info.position = pos
      else
        local candidates = {}
        if info.locked_by then candidates[#candidates + 1] = info.locked_by end
        for _, w in ipairs(workers_of(queue)) do candidates[#candidates + 1] = w.name end
        local base = key(queue, 'inflight:')
        for _, k in ipairs(extra_inflight or {}) do
          if string.sub(k, 1, #base) == base then candidates[#candidates + 1] = string.sub(k, #base + 1) end
        end
        for _, w in ipairs(candidates) do
          if redis.call('SISMEMBER', base .. w, id) == 1 then
            info.state = 'inflight'
            info.worker = w
            break
          end
        end
        if not info.state then info.state = 'lost' end
      end
    end
  end
  if info.worker then
    local beat = redis.call('ZSCORE', key(queue, 'workers'), info.worker)
    if beat then info.worker_beat = tonumber(beat) end
  end
  return info
end

-- Seconds a job has been waiting to be taken (due or in `active`), or nil.
-- A due scheduled job waits since its run time; a job in `active` since it was
-- requeued or, failing that, pushed (the time in its ULID).
local function waiting_since(queue, id, score)
  if score then return tonumber(score) end
  local requeued = redis.call('HGET', key(queue, 'meta:' .. id), 'requeued_at')
  if requeued then return tonumber(requeued) end
  return ulid_secs(id)
end

-- "2026-05-01T12:00:00Z" for Unix seconds (Redis' Lua has no os.date).
local function iso(secs)
  if secs == nil then return nil end
  secs = math.floor(secs)
  local days = math.floor(secs / 86400)
  local rem = secs - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp + 3
  if m > 12 then m = m - 12 end
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02dT%02d:%02d:%02dZ', y, m, d,
    math.floor(rem / 3600), math.floor(rem % 3600 / 60), rem % 60)
end

-- "2026-05-01T12:00:00Z (3m05s ago)" or "(in 20s)".
local function when(secs, t)
  if secs == nil then return nil end
  local d = t - secs
  if d >= 0 then return iso(secs) .. ' (' .. age(d) .. ' ago)' end
  return iso(secs) .. ' (in ' .. age(-d) .. ')'
end
