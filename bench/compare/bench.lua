-- wrk script of bench/compare.py. One script for every endpoint; the mode and its inputs
-- come after wrk's "--":
--   get     PATH AUTH                    GET PATH (AUTH: an Authorization value, or "-")
--   post    PATH AUTH BODY               POST a fixed form body
--   refresh PATH AUTH POOL_IN POOL_OUT   refresh_token grant from a pool of live tokens; each
--                                        response's new refresh token goes back in the pool,
--                                        which is written to POOL_OUT at the end
--   code    PATH AUTH CODES REDIRECT     authorization_code grant, one minted code per request
--                                        (CODES: lines "code verifier"); the thread stops when
--                                        the codes run out
-- done() prints one line "RESULT {json}" for the harness.

threads = {}

function setup(thread)
  table.insert(threads, thread)
end

ok = 0
bad = 0
exhausted = 0
first = 1
last = 0
pool = {}

local function lines(path)
  local found = {}
  for line in io.lines(path) do
    if #line > 0 then found[#found + 1] = line end
  end
  return found
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  mode = args[1]
  path = args[2]
  headers = {}
  if args[3] ~= "-" then headers["Authorization"] = args[3] end
  if mode == "get" then
    fixed = wrk.format("GET", path, headers)
  else
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  if mode == "post" then
    fixed = wrk.format("POST", path, headers, args[4])
  elseif mode == "refresh" then
    for _, token in ipairs(lines(args[4])) do
      last = last + 1
      pool[last] = token
    end
    pool_out = args[5]
  elseif mode == "code" then
    codes = lines(args[4])
    redirect = urlencode(args[5])
    next_code = 1
  end
end

function request()
  if mode == "refresh" then
    local token = "exhausted"
    if first <= last then
      token = pool[first]
      pool[first] = nil
      first = first + 1
    else
      exhausted = exhausted + 1
    end
    return wrk.format("POST", path, headers, "grant_type=refresh_token&refresh_token=" .. token)
  elseif mode == "code" then
    local line = codes[next_code] or "exhausted none"
    if codes[next_code] == nil then exhausted = exhausted + 1 end
    next_code = next_code + 1
    local code, verifier = line:match("^(%S+) (%S+)$")
    return wrk.format("POST", path, headers, "grant_type=authorization_code&code=" .. code ..
      "&redirect_uri=" .. redirect .. "&code_verifier=" .. verifier)
  end
  return fixed
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else bad = bad + 1 end
  if mode == "refresh" and status == 200 then
    local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
    if token then
      last = last + 1
      pool[last] = token
    end
  end
  if mode == "refresh" and first > last then
    wrk.thread:stop()
  elseif mode == "code" and next_code > #codes then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local good, failed, short = 0, 0, 0
  for _, thread in ipairs(threads) do
    good = good + thread:get("ok")
    failed = failed + thread:get("bad")
    short = short + thread:get("exhausted")
    if thread:get("mode") == "refresh" then
      local out = io.open(thread:get("pool_out"), "w")
      local left = thread:get("pool")
      for i = thread:get("first"), thread:get("last") do
        if left[i] then out:write(left[i], "\n") end
      end
      out:close()
    end
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"ok":%d,"bad":%d,"exhausted":%d,"requests":%d,"duration_us":%d,' ..
    '"p50_us":%d,"p99_us":%d,"socket_errors":%d}\n',
    good, failed, short, summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout))
end
