#!lua flags=no-writes
--[[
log.lua - entries of a collection's change log from a seq on: at most
ARGV[2] of them and, past the first, no more than ARGV[3] bytes of values,
so that no page or replay batch of large documents buffers a gigabyte in
the gateway (the first entry always comes: one document fits any page).

KEYS[1] log stream
ARGV[1] first id ("<seq>-0")    ARGV[2] count    ARGV[3] byte budget

Reply: XRANGE's entries, cut
     | an error reply   the key of the wrong type
]]
local count, budget = tonumber(ARGV[2]), tonumber(ARGV[3])
if not count or count < 1 or not budget then
  return redis.error_reply('ERR syncgate log.lua: bad arguments')
end
local entries = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', count)
local used = 0
for i = 1, #entries do
  local fields = entries[i][2]
  for j = 2, #fields, 2 do used = used + #fields[j] end
  if i > 1 and used > budget then
    for k = #entries, i, -1 do entries[k] = nil end
    break
  end
end
return entries
