-- wrk script: replay pre-built, signed and encrypted callbacks, one per line of the file given as
-- the first argument ("path<TAB>body"), starting at the line given as the second argument.
local requests = {}
local next_index = 0

init = function(args)
  local headers = { ["Content-Type"] = "text/xml" }
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    requests[#requests + 1] = wrk.format("POST", line:sub(1, tab - 1), headers, line:sub(tab + 1))
  end
  next_index = tonumber(args[2] or "0")
end

request = function()
  next_index = next_index + 1
  return requests[(next_index - 1) % #requests + 1]
end
