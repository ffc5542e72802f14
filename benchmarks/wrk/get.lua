-- GET PATH with a bearer token per connection: the web tier's floor (what one authenticated
-- request costs with next to no work behind it), beside the intake in the same run.
-- wrk ... -s get.lua URL -- TOKENS_FILE PATH
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

setup = common.setup
response = common.response
done = common.done

function init(args)
  tokens = common.lines(args[1])
  path = args[2]
  statuses = {}
end

function request()
  local headers = { ["Authorization"] = "Bearer " .. tokens[(thread_id % #tokens) + 1] }
  return wrk.format("GET", path, headers)
end
