-- POST /login for one verified account (each login costs one hash).
local body = string.format('{"email":"%s","password":"violet submarine harvests 42 clouds"}', os.getenv("BENCH_EMAIL"))
request = function()
  return wrk.format("POST", "/login", { ["Content-Type"] = "application/json" }, body)
end
