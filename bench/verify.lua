-- GET /verify with a fresh token per request, from BENCH_TOKENS (one per line).
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local i = 0
request = function()
  -- Threads take interleaved tokens so none is used twice while tokens last.
  local n = #tokens
  local index = ((i * 2 + (tid or 1) - 1) % n) + 1
  i = i + 1
  return wrk.format("GET", "/verify?token=" .. tokens[index], { ["Accept"] = "application/json" })
end
