#!lua
--[[
meta.lua - a collection's head, creating its epoch on first use (DESIGN.md
section 11: the first operation on a collection creates its epoch; made by
a read, it is forgotten after a while unless a write comes, life.lua), and
giving it a new one when the Redis that served it is not this one (life.lua).
A new epoch continues after the last id the log ever had, so stream ids only
grow.

KEYS[1] meta hash    KEYS[2] log stream
ARGV[1] epoch to create if the collection has none (or needs a new one)
ARGV[2] "1" when restarts are declared lossless (keep the epoch)

Reply: {epoch, seq, base, rotated}  (base: the seq at which this epoch
        began; rotated 1 when this call gave the collection a new epoch)
     | an error reply      keys of the wrong type
]]
local meta, log = KEYS[1], KEYS[2]
--#include types
if wrong_type(meta, 'hash') or wrong_type(log, 'stream') or ARGV[1] == '' then
  return redis.error_reply('WRONGTYPE syncgate: a key of this collection holds the wrong type')
end
--#include life
local epoch, seq, base, rotated = life_check(meta, log, ARGV[1], ARGV[2])
if epoch then return {epoch, seq, base, rotated and 1 or 0} end
epoch, seq, base = life_create_read(meta, log, ARGV[1])
return {epoch, seq, base, 0}
