-- types.lua (included where a script says --#include types): whether a
-- key holds another type than the script needs ("none", absent, is fine).
-- Scripts check every key before their first write (Lua does not roll back).
local function wrong_type(key, want)
  local t = redis.call('TYPE', key)['ok']
  return t ~= 'none' and t ~= want
end
