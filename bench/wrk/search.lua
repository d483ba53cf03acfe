-- search.lua: wrk script for bench/server_ratio.sh's second client. Each thread reads the
-- request bodies (one JSON search per line, the query as vectorBase64) and sends them in turn
-- as POSTs to the search path, over wrk's keep-alive connections.
--   wrk -t1 -c2 -d10s -s bench/wrk/search.lua URL -- BODIES PATH
local bodies = {}
local next_body = 0
local path = "/"

function init(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
  path = args[2]
end

function request()
  next_body = next_body % #bodies + 1
  return wrk.format("POST", path, { ["Content-Type"] = "application/json" }, bodies[next_body])
end
