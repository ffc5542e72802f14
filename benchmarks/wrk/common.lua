-- Shared by the wrk scripts: read a file of lines, count answers per status in every thread,
-- and print machine-readable totals that benchmarks/load.py parses.
local common = {}

function common.lines(path)
  local values = {}
  for line in io.lines(path) do
    if #line > 0 then values[#values + 1] = line end
  end
  return values
end

function common.setup(thread)
  thread_count = (thread_count or 0) + 1
  thread:set("thread_id", thread_count)
  threads = threads or {}
  table.insert(threads, thread)
end

function common.response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function common.done(summary, latency)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  io.write("STATUSES")
  for status, count in pairs(total) do io.write(string.format(" %d=%d", status, count)) end
  io.write("\n")
  io.write(string.format("LATENCY_MS p50=%.3f p99=%.3f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  io.write(string.format("RUN requests=%d seconds=%.3f errors=%d\n", summary.requests,
    summary.duration / 1e6, summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
end

return common
