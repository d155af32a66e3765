-- POST /register with a unique address per request.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local counter = 0
local run = os.getenv("BENCH_RUN") or "0"
request = function()
  counter = counter + 1
  local body = string.format('{"name":"Bench User","email":"u%s.%d.%d@example.com","password":"violet submarine harvests 42 clouds"}', run, tid or 0, counter)
  return wrk.format("POST", "/register", { ["Content-Type"] = "application/json" }, body)
end
