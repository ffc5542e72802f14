-- PATCH /api/v1/orders/<id>/status placed -> picked as staff: thread i takes orders i, i+n,
-- i+2n, ... of the file, so every request changes a different order.
-- wrk ... -s transitions.lua URL -- TOKENS_FILE ORDERS_FILE THREADS
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

setup = common.setup
response = common.response
done = common.done

function init(args)
  tokens = common.lines(args[1])
  orders = common.lines(args[2])
  stride = tonumber(args[3])
  statuses = {}
  next_index = thread_id
end

function request()
  local id = orders[next_index] or orders[#orders]
  next_index = next_index + stride
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[(thread_id % #tokens) + 1],
  }
  return wrk.format("PATCH", "/api/v1/orders/" .. id .. "/status", headers, '{"status":"picked"}')
end
