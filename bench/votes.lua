-- wrk script: each request is one authenticated vote by the next user in the file.
-- When the users run out it starts again from the first, so the rest are duplicates,
-- which must all be refused (409). Prints a JSON line with the counts and latencies.
-- With BENCH_CODES set, the file holds printed ballot codes: each request is a guest's vote
-- with the next code (no session).
local users = {}
local poll = os.getenv("BENCH_POLL")
local choices = os.getenv("BENCH_CHOICES")
local csrf = os.getenv("BENCH_CSRF")
-- The poll vote by default; BENCH_PATH and BENCH_BODY send another ballot (a budget round's).
local path = os.getenv("BENCH_PATH") or ("/api/v1/polls/" .. poll .. "/votes")
local body = os.getenv("BENCH_BODY") or ('{"choices": [' .. choices .. ']}')
local codes = os.getenv("BENCH_CODES")
for line in io.lines(os.getenv("BENCH_USERS")) do users[#users + 1] = line end

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  thread:set("nthreads", tonumber(os.getenv("BENCH_THREADS")))
  table.insert(threads, thread)
end

function init(args)
  i = tid
  counts = {}
end

function request()
  local user = users[(i % #users) + 1]
  i = i + nthreads
  local headers = {
    ["Content-Type"] = "application/json",
    ["Cookie"] = "sessionid=" .. user .. "; csrftoken=" .. csrf,
    ["X-CSRFToken"] = csrf,
    ["Host"] = "127.0.0.1",
  }
  if codes then
    headers["Cookie"] = "csrftoken=" .. csrf
    return wrk.format("POST", path, headers, '{"choices": [' .. choices .. '], "code": "' .. user .. '"}')
  end
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local by_status = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for status, n in pairs(c) do by_status[tostring(status)] = (by_status[tostring(status)] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(by_status) do parts[#parts + 1] = '"' .. status .. '": ' .. n end
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "errors_connect": %d, "errors_timeout": %d, "errors_status": %d, ' ..
    '"latency_p50_ms": %.3f, "latency_p90_ms": %.3f, "latency_p99_ms": %.3f, "latency_max_ms": %.3f, "by_status": {%s}}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.timeout, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    table.concat(parts, ", ")))
end
