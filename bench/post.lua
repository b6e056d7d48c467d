-- wrk script for the benchmark: POST /ask with a JSON body, optional pacing, and a
-- machine-readable summary line that bench/run parses.
wrk.method = "POST"
-- BENCH_STREAM=1: the same question, answered as a stream of server-sent events.
if os.getenv("BENCH_STREAM") == "1" then
  wrk.body = '{"question":"Find me a good restaurant","stream":true}'
else
  wrk.body = '{"question":"Find me a good restaurant"}'
end
wrk.headers["Content-Type"] = "application/json"

-- BENCH_DELAY_MS: pause per connection between requests, for a steady (not maximal) rate.
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
if pause > 0 then
  delay = function()
    return pause
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"socket_errors":%d,"non2xx":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
