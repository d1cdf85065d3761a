#!lua
--[[
record.lua - keeps what a write that changed nothing leaves behind (DESIGN.md
sections 4 and 6): the conflict it met, when the policy refused it (reject),
in the trail and to the live subscribers that asked for conflicts; and its
answer, when it carried an idempotency key. Atomic, like write.lua, so that a
retry through any gateway finds the answer or nothing.

KEYS[1] meta hash    KEYS[2] conflicts stream (the trail)
KEYS[3] idempotency record (string)    KEYS[4] log stream
ARGV[1] conflict trail entry up to and including  "offset":"  ("" = none);
        the offset appended is the collection's head
ARGV[2] trail retention: entries kept (at least)
ARGV[3] pub/sub channel
ARGV[4] the idempotency record ("" = none)
ARGV[5] seconds the idempotency record is kept
ARGV[6] a fresh epoch id, used if the collection's Redis life changed
ARGV[7] "1" when restarts are declared lossless (life.lua)
ARGV[8] "1" on a Redis Cluster: the channel is a shard channel (SPUBLISH)

Reply: {"ok"}
     | {"idem", record}   the key already has an answer: nothing written
     | an error reply     keys of the wrong type, bad arguments
]]
local meta, trail, idem, log = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local conflict, keep, channel = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local rec, ttl = ARGV[4], tonumber(ARGV[5])
local publish = ARGV[8] == '1' and 'SPUBLISH' or 'PUBLISH'

if not keep or keep < 1 or not ttl or ttl < 1 then
  return redis.error_reply('ERR syncgate record.lua: bad arguments')
end
--#include types
if wrong_type(meta, 'hash') or wrong_type(trail, 'stream') or
   wrong_type(idem, 'string') or wrong_type(log, 'stream') then
  return redis.error_reply('WRONGTYPE syncgate: a key of this collection holds the wrong type')
end
if rec ~= '' then
  local old = redis.call('GET', idem)
  if old then return {'idem', old} end
end

--#include life

-- every check passed: from here on, only writes
if conflict ~= '' then
  -- the head the entry follows, in this Redis' life (another process
  -- gives the collection a new epoch here, as every script does)
  local epoch, seq = life_check(meta, log, ARGV[6], ARGV[7])
  local off = ''
  if epoch then off = epoch .. ':' .. seq end
  local entry = conflict .. off .. '"}'
  local tid = redis.call('XADD', trail, 'MAXLEN', '~', keep, '*', 'd', entry)
  if off ~= '' then
    -- with its place in the trail, after "type" (as write.lua does)
    redis.call(publish, channel,
      '{"type":"conflict","trail_id":"' .. tid .. '",' .. string.sub(entry, 20))
  end
end
if rec ~= '' then redis.call('SET', idem, rec, 'EX', ttl) end
return {'ok'}
