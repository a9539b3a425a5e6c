-- Rotates the Authorization header over a file of tokens (one a line): args = tokens file, path.
local tokens = {}
local i = 0
local target = "/"

init = function(args)
  for line in io.lines(args[1]) do
    tokens[#tokens + 1] = "Bearer " .. line
  end
  target = args[2]
end

request = function()
  i = i + 1
  if i > #tokens then i = 1 end
  return wrk.format("GET", target, { Authorization = tokens[i] })
end
