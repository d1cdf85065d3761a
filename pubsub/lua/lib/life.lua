-- life.lua (included where a script says --#include life): which life of
-- Redis a collection's epoch belongs to, and the top of its log.
--
-- A collection's meta hash keeps `run`, the run_id of the Redis process that
-- last served it. Another run_id means this Redis restarted, failed over or
-- was restored from a copy since then: what the old process acknowledged may
-- be gone, and no gateway can know. So the collection gets a new epoch (every
-- subscriber a reset), unless the operator declared restarts lossless
-- (trust == '1', redis.lossless_restarts), which only records the new
-- run_id. A meta without `run` (written before this check existed) adopts
-- the live run_id. A meta that is gone (a flush) makes a new epoch anyway.

local function live_run_id()
  return string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') or ''
end

-- The seq of the last id the log stream ever generated (0 without a
-- stream): entries can be trimmed or deleted, that id stays, and XADD only
-- takes ids above it.
local function log_top(log)
  if redis.call('EXISTS', log) == 0 then return 0 end
  local info = redis.call('XINFO', 'STREAM', log)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      return tonumber(string.match(info[i + 1], '^(%d+)-')) or 0
    end
  end
  return 0
end

-- Checks meta's life against the live Redis. Returns the epoch, seq and
-- base the collection has afterwards, and true when it was given new_epoch.
-- A collection without an epoch is left alone (the caller creates it).
local function life_check(meta, log, new_epoch, trust)
  local m = redis.call('HMGET', meta, 'epoch', 'seq', 'base', 'run')
  if not m[1] then return nil, '0', '0', false end
  local run = live_run_id()
  if m[4] == run then return m[1], m[2] or '0', m[3] or '0', false end
  if not m[4] or trust == '1' then
    redis.call('HSET', meta, 'run', run)
    return m[1], m[2] or '0', m[3] or '0', false
  end
  local seq = math.max(tonumber(m[2] or '0'), log_top(log))
  local s = string.format('%d', seq)
  redis.call('HSET', meta, 'epoch', new_epoch, 'seq', s, 'base', s, 'run', run,
             'rotated_ms', '0')
  return new_epoch, s, s, true
end

-- Creates a collection's epoch (its first operation, or after a flush).
local function life_create(meta, log, new_epoch)
  local s = string.format('%d', log_top(log))
  redis.call('HSET', meta, 'epoch', new_epoch, 'seq', s, 'base', s, 'run', live_run_id())
  return new_epoch, s, s
end

-- A collection that has only been read (no log: nothing was ever written)
-- keeps the epoch a read made for READ_TTL_MS, then forgets it, so reads
-- of ever new names never fill a Redis that may not evict. The first write
-- makes it permanent (write.lua: PERSIST). Forgotten, the next operation
-- makes a new epoch; a reader holding the old "<epoch>:0" gets a reset.
local READ_TTL_MS = 900000

local function life_create_read(meta, log, new_epoch)
  local epoch, seq, base = life_create(meta, log, new_epoch)
  if redis.call('EXISTS', log) == 0 then
    redis.call('PEXPIRE', meta, READ_TTL_MS)
  end
  return epoch, seq, base
end
