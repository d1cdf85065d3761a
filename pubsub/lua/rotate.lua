#!lua
--[[
rotate.lua - gives a collection a new epoch after Redis lost the tail of its
log (DESIGN.md section 10): only if the collection still has the epoch the
caller knew and a seq below the one it holds proof of (what a gateway saw,
or a client's `since`), so several callers that notice the same loss rotate
once; and at most once per interval, so forged offsets cannot make every
client reload again and again.

KEYS[1] meta hash    KEYS[2] log stream
ARGV[1] epoch the caller knew    ARGV[2] the seq it holds proof of
ARGV[3] new epoch                ARGV[4] "1" when restarts are declared lossless
ARGV[5] interval, ms: no rotation sooner than this after the last one

Reply: {epoch, seq, base, rotated}  rotated is 1 when this call rotated
]]
local meta, log = KEYS[1], KEYS[2]
--#include types
local interval = tonumber(ARGV[5])
if wrong_type(meta, 'hash') or wrong_type(log, 'stream') or ARGV[3] == '' or
   not tonumber(ARGV[2]) or not interval then
  return redis.error_reply('ERR syncgate rotate.lua: bad arguments or key type')
end
--#include life
local epoch, seq, base, rotated = life_check(meta, log, ARGV[3], ARGV[4])
if not epoch then
  -- the meta is gone (a flush): a new epoch after whatever the log holds
  epoch, seq, base = life_create(meta, log, ARGV[3])
  return {epoch, seq, base, 1}
end
if rotated then return {epoch, seq, base, 1} end
if epoch == ARGV[1] and tonumber(seq) < tonumber(ARGV[2]) then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local last = tonumber(redis.call('HGET', meta, 'rotated_ms') or '0') or 0
  if now - last >= interval then
    local s = string.format('%d', math.max(tonumber(seq), log_top(log)))
    redis.call('HSET', meta, 'epoch', ARGV[3], 'seq', s, 'base', s,
               'rotated_ms', string.format('%d', now))
    return {ARGV[3], s, s, 1}
  end
end
return {epoch, seq, base, 0}
