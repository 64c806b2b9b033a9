-- wrk script for scripts/http-bench: requests one file or a zipf over many,
-- checks every response (status 200 and the exact bytes of the file it names
-- on its first line), and writes JSON to $HTTP_BENCH_JSON in done().
--
-- Environment: HTTP_BENCH_MANIFEST (one "path<TAB>weight" per line; the
-- served directory is HTTP_BENCH_ROOT), HTTP_BENCH_JSON (output file).

local root = os.getenv("HTTP_BENCH_ROOT")
local manifest = os.getenv("HTTP_BENCH_MANIFEST")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local paths, cdf, expected = {}, {}, {}
-- Globals: done() reads them from each thread with thread:get().
wrong_bodies, not_ok, checked = 0, 0, 0

function init(args)
  local total = 0
  for line in io.lines(manifest) do
    local path, weight = line:match("^(%S+)\t(%S+)$")
    table.insert(paths, path)
    total = total + tonumber(weight)
    table.insert(cdf, total)
    local f = assert(io.open(root .. path, "rb"))
    expected[path] = f:read("*a")
    f:close()
  end
  for i = 1, #cdf do cdf[i] = cdf[i] / total end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 100000)
end

local function pick()
  if #paths == 1 then return paths[1] end
  local u = math.random()
  local lo, hi = 1, #cdf
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return paths[lo]
end

function request()
  return wrk.format("GET", pick())
end

function response(status, headers, body)
  checked = checked + 1
  if status ~= 200 then not_ok = not_ok + 1; return end
  local path = body:match("^([^\n]*)\n")
  if path == nil or expected[path] ~= body then wrong_bodies = wrong_bodies + 1 end
end

function done(summary, latency, requests)
  local wrong, notok, seen = 0, 0, 0
  for _, t in ipairs(threads) do
    wrong = wrong + (t:get("wrong_bodies") or 0)
    notok = notok + (t:get("not_ok") or 0)
    seen = seen + (t:get("checked") or 0)
  end
  local e = summary.errors
  local out = assert(io.open(os.getenv("HTTP_BENCH_JSON"), "w"))
  out:write(string.format(
    '{"requests": %d, "durationUs": %d, "bytes": %d, "connectErrors": %d, "readErrors": %d, ' ..
    '"writeErrors": %d, "statusErrors": %d, "timeouts": %d, "notOK": %d, "wrongBodies": %d, "checked": %d, ' ..
    '"p50Us": %d, "p90Us": %d, "p99Us": %d, "maxUs": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    notok, wrong, seen, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  out:close()
end
