#!lua
--[[
meta.lua - a collection's head, creating its epoch on first use (DESIGN.md
section 11: the first operation on a collection creates its epoch). A new
epoch continues after whatever the log still holds, so stream ids only grow.

KEYS[1] meta hash    KEYS[2] log stream
ARGV[1] epoch to create if the collection has none

Reply: {epoch, seq, base}  (base: the seq at which this epoch began)
     | an error reply      keys of the wrong type
]]
local meta, log = KEYS[1], KEYS[2]
local m = redis.call('HMGET', meta, 'epoch', 'seq', 'base')
if m[1] then return {m[1], m[2] or '0', m[3] or '0'} end

local function wrong_type(key, want)
  local t = redis.call('TYPE', key)['ok']
  return t ~= 'none' and t ~= want
end
if wrong_type(meta, 'hash') or wrong_type(log, 'stream') or ARGV[1] == '' then
  return redis.error_reply('WRONGTYPE syncgate: a key of this collection holds the wrong type')
end
local seq = '0'
local last = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)
if #last > 0 then seq = string.match(last[1][1], '^(%d+)-') end
redis.call('HSET', meta, 'epoch', ARGV[1], 'seq', seq, 'base', seq)
return {ARGV[1], seq, seq}
