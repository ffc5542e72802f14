-- POST /api/v1/orders as many customers at once: each request a random customer's token,
-- three distinct random products of one unit, and a fresh Idempotency-Key.
-- wrk ... -s orders.lua URL -- TOKENS_FILE PRODUCTS_FILE
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
local common = require("common")

setup = common.setup
response = common.response
done = common.done

function init(args)
  tokens = common.lines(args[1])
  products = common.lines(args[2])
  statuses = {}
  counter = 0
  math.randomseed(os.time() * 1000 + thread_id)
end

local address = '{"line1":"1 Bench Street","city":"Oslo","postal_code":"0150","country":"NO"}'

function request()
  counter = counter + 1
  local a, b, c = math.random(#products), math.random(#products), math.random(#products)
  while b == a do b = math.random(#products) end
  while c == a or c == b do c = math.random(#products) end
  local body = string.format(
    '{"items":[{"product_id":"%s","quantity":1},{"product_id":"%s","quantity":1},' ..
    '{"product_id":"%s","quantity":1}],"shipping_address":%s}',
    products[a], products[b], products[c], address)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)],
    ["Idempotency-Key"] = string.format("wrk-%d-%d-%d", thread_id, counter, math.random(1e9)),
  }
  return wrk.format("POST", "/api/v1/orders", headers, body)
end
