#!lua
--[[
rotate.lua - gives a collection a new epoch after Redis lost the tail of its
log (DESIGN.md section 10): only if the collection still has the epoch the
gateway knew and a seq below what the gateway saw, so several gateways that
notice the same loss rotate once.

KEYS[1] meta hash
ARGV[1] epoch the gateway knew    ARGV[2] highest seq it saw    ARGV[3] new epoch

Reply: {epoch, seq, base, rotated}  rotated is 1 when this call rotated
]]
local meta = KEYS[1]
local t = redis.call('TYPE', meta)['ok']
if (t ~= 'none' and t ~= 'hash') or ARGV[3] == '' or not tonumber(ARGV[2]) then
  return redis.error_reply('ERR syncgate rotate.lua: bad arguments or key type')
end
local m = redis.call('HMGET', meta, 'epoch', 'seq', 'base')
local seq = m[2] or '0'
if not m[1] or (m[1] == ARGV[1] and tonumber(seq) < tonumber(ARGV[2])) then
  redis.call('HSET', meta, 'epoch', ARGV[3], 'seq', seq, 'base', seq)
  return {ARGV[3], seq, seq, 1}
end
return {m[1], seq, m[3] or '0', 0}
