-- GET BENCH_PATH with optional BENCH_COOKIE / BENCH_BEARER.
local headers = { ["Accept"] = "application/json" }
if os.getenv("BENCH_COOKIE") then headers["Cookie"] = os.getenv("BENCH_COOKIE") end
if os.getenv("BENCH_BEARER") then headers["Authorization"] = "Bearer " .. os.getenv("BENCH_BEARER") end
local path = os.getenv("BENCH_PATH") or "/healthz"
request = function()
  return wrk.format("GET", path, headers)
end
