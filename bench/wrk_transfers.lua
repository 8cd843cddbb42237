-- wrk script: every request is POST /api/v1/transfers/ between two random distinct bench
-- accounts, with a unique Idempotency-Key, a random amount (0.01 - 10.00 CNY) and the bearer token.
--
--   wrk -t2 -c16 -d30s --latency -s bench/wrk_transfers.lua http://127.0.0.1:PORT -- ACCOUNTS_FILE TOKEN RUN_ID
--
-- ACCOUNTS_FILE holds one account public id per line. At the end it prints one line
-- `WRK_JSON {...}` with the counts by status and the latency percentiles (microseconds).

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local path, token, run_id = args[1], args[2], args[3]
  accounts = {}
  for line in io.lines(path) do
    if #line > 0 then
      table.insert(accounts, line)
    end
  end
  if #accounts < 2 then
    error("need at least two accounts in " .. path)
  end
  prefix = run_id .. "-" .. tostring(tid) .. "-"
  headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
  math.randomseed(os.time() * 1000 + tid * 7919)
  created, other, statuses = 0, 0, {}
end

function request()
  counter = counter + 1
  local n = #accounts
  local a = math.random(n)
  local b = (a + math.random(n - 1) - 1) % n + 1
  local cents = math.random(1, 1000)
  headers["Idempotency-Key"] = prefix .. counter
  local body = string.format(
    '{"from_account":"%s","to_account":"%s","amount":"%d.%02d","currency":"CNY","reference":"bench"}',
    accounts[a], accounts[b], math.floor(cents / 100), cents % 100
  )
  return wrk.format("POST", "/api/v1/transfers/", headers, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  else
    other = other + 1
    local key = tostring(status)
    statuses[key] = (statuses[key] or 0) + 1
    if other <= 3 then
      io.stderr:write("non-201 response " .. key .. ": " .. string.sub(body or "", 1, 300) .. "\n")
    end
  end
end

function done(summary, latency, requests)
  local created_total, other_total, by_status = 0, 0, {}
  for _, thread in ipairs(threads) do
    created_total = created_total + thread:get("created")
    other_total = other_total + thread:get("other")
    for key, count in pairs(thread:get("statuses")) do
      by_status[key] = (by_status[key] or 0) + count
    end
  end
  local parts = {}
  for key, count in pairs(by_status) do
    table.insert(parts, string.format('"%s":%d', key, count))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%d,"requests":%d,"created":%d,"non_201":%d,"statuses":{%s},'
      .. '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},'
      .. '"latency_us":{"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p95":%d,"p99":%d,"p999":%d}}\n',
    summary.duration, summary.requests, created_total, other_total, table.concat(parts, ","),
    e.connect, e.read, e.write, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency:percentile(99.9)
  ))
end
