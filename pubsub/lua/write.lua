#!lua
--[[
write.lua - the atomic step of a document write (DESIGN.md sections 5 and 6).

Checks that the stored document is still the one the gateway decided on, that
Redis has not lost what the gateway saw, and that the write's idempotency key
(if any) has no answer yet; then stores the document, takes the next sequence
number, appends the change (and the conflict it settled, if any) to the log,
records the conflict in the trail, keeps the answer under the idempotency key
and publishes the change. Everything is validated before the first write (Lua
does not roll back), and the #!lua line makes Redis refuse the script under
OOM before it runs.

KEYS[1] docs hash    KEYS[2] log stream    KEYS[3] meta hash    KEYS[4] ids zset
KEYS[5] conflicts stream (the trail)      KEYS[6] idempotency record (string)
ARGV[1] document id
ARGV[2] offset of the stored document the write was decided on ("-" = no
        document; "" = a document without the offset tail)
ARGV[3] the new document JSON up to and including  "offset":"
ARGV[4] epoch to create if the collection has none
ARGV[5] epoch the gateway knows ("" = none known)
ARGV[6] highest seq the gateway has seen in that epoch
ARGV[7] log retention: entries kept (at least)
ARGV[8] pub/sub channel
ARGV[9] conflict trail entry up to and including  "offset":"  ("" = no conflict)
ARGV[10] trail retention: entries kept (at least)
ARGV[11] idempotency record head ("" = the write has no key)
ARGV[12] the answer's tail: what follows the document without its closing
         brace in the answer (,"applied":...})
ARGV[13] seconds the idempotency record is kept
ARGV[14] "1" when restarts are declared lossless (life.lua)
ARGV[15] "1" on a Redis Cluster: the channel is a shard channel, published
         with SPUBLISH on the collection's shard only; else PUBLISH

Reply: {"ok", "<epoch>:<seq>"}
     | {"changed", doc|nil}   the stored document moved on: decide again
                              (on doc, the one stored now; nil: none)
     | {"stale", epoch, seq}  Redis shows another epoch, or less than seen
     | {"idem", record}       the key already has an answer: nothing written
     | an error reply         keys of the wrong type, bad arguments

The log entry is {d = document} or {d = document, c = conflict entry}; the
published message is the document, or the conflict entry, a newline, and the
document (JSON as we write it never holds a raw newline). The trail keeps the
entry as given ({"type":"conflict",...}, ARGV[9] starts so); the copies in
the log and on the channel carry "trail_id" (its stream id) after "type".
]]
local docs, log, meta, ids, trail, idem = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local id, expected, doc, new_epoch = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local known, min_seq, history = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local channel, conflict, trail_keep = ARGV[8], ARGV[9], tonumber(ARGV[10])
local rec_head, answer_tail, ttl = ARGV[11], ARGV[12], tonumber(ARGV[13])
local publish = ARGV[15] == '1' and 'SPUBLISH' or 'PUBLISH'

if not min_seq or not history or history < 1 or doc == '' or id == '' or
   not trail_keep or trail_keep < 1 or not ttl or ttl < 1 then
  return redis.error_reply('ERR syncgate write.lua: bad arguments')
end
--#include types
if wrong_type(docs, 'hash') or wrong_type(log, 'stream') or
   wrong_type(meta, 'hash') or wrong_type(ids, 'zset') or
   (conflict ~= '' and wrong_type(trail, 'stream')) or
   (rec_head ~= '' and wrong_type(idem, 'string')) then
  return redis.error_reply('WRONGTYPE syncgate: a key of this collection holds the wrong type')
end

if rec_head ~= '' then
  local rec = redis.call('GET', idem)
  if rec then return {'idem', rec} end
end

--#include life
-- the stream's last generated id, not its last entry: XADD takes only ids
-- above it, and it must not fail after the HSETs below
local last_seq = log_top(log)
local m = redis.call('HMGET', meta, 'epoch', 'seq')
if m[1] and tonumber(m[2] or '0') < last_seq then
  return redis.error_reply('ERR syncgate: change log is ahead of the meta seq')
end

-- a Redis that is not the one that served the collection: a new epoch
-- (a complete step of its own; nothing of the write is stored yet)
local epoch, seq_s = life_check(meta, log, new_epoch, ARGV[14])
local seq = tonumber(seq_s)
local create = false
if not epoch then
  if known ~= '' then return {'stale', '', '0'} end
  epoch, seq, create = new_epoch, last_seq, true
elseif known ~= '' and (epoch ~= known or seq < min_seq) then
  return {'stale', epoch, string.format('%d', seq)}
end

local cur = redis.call('HGET', docs, id)
local cur_off = ''
-- a stored document without the offset tail (written by hand, or by
-- something else) counts as one without an offset: the write replaces it
if cur then cur_off = string.match(cur, '"offset":"([^"]*)"}$') or '' else cur_off = '-' end
if cur_off ~= expected then return {'changed', cur or false} end

-- every check passed: from here on, only writes
local s = string.format('%d', seq + 1)
local off = epoch .. ':' .. s
local full = doc .. off .. '"}'
if create then
  redis.call('HSET', meta, 'epoch', epoch, 'base', string.format('%d', seq),
             'run', live_run_id())
end
redis.call('HSET', meta, 'seq', s)
redis.call('PERSIST', meta) -- an epoch a read made is kept from now on
redis.call('HSET', docs, id, full)
if not cur then redis.call('ZADD', ids, 0, id) end
if conflict ~= '' then
  local entry = conflict .. off .. '"}'
  local tid = redis.call('XADD', trail, 'MAXLEN', '~', trail_keep, '*', 'd', entry)
  -- subscribers get the entry with its place in the trail
  local wire = '{"type":"conflict","trail_id":"' .. tid .. '",' .. string.sub(entry, 20)
  redis.call('XADD', log, 'MAXLEN', '~', history, s .. '-0', 'd', full, 'c', wire)
  redis.call(publish, channel, wire .. '\n' .. full)
else
  redis.call('XADD', log, 'MAXLEN', '~', history, s .. '-0', 'd', full)
  redis.call(publish, channel, full)
end
if rec_head ~= '' then
  redis.call('SET', idem, rec_head .. string.sub(full, 1, -2) .. answer_tail, 'EX', ttl)
end
-- a status reply: the gateway's reader allocates nothing per element
return {ok = off}
