-- search.lua: wrk script for bench/server_ratio.sh's second client. Each thread reads the
-- request bodies (one JSON search per line, the query as vectorBase64) and sends them in turn
-- as POSTs to the search path, over wrk's keep-alive connections. The requests are formatted
-- once, in init, so the client spends its time sending, not building strings.
--   wrk -t1 -c2 -d10s -s bench/wrk/search.lua URL -- BODIES PATH
local requests = {}
local next_request = 0

function init(args)
  for line in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("POST", args[2], { ["Content-Type"] = "application/json" }, line)
  end
end

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end
