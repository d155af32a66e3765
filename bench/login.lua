-- POST /login for one verified account (each login costs one hash), from
-- the browser that signed up when BENCH_DEVICE holds its device cookie.
local body = string.format('{"email":"%s","password":"violet submarine harvests 42 clouds"}', os.getenv("BENCH_EMAIL"))
local headers = { ["Content-Type"] = "application/json" }
local device = os.getenv("BENCH_DEVICE")
if device and device ~= "" then
  headers["Cookie"] = device
end
request = function()
  return wrk.format("POST", "/login", headers, body)
end
