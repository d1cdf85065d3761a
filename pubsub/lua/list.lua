#!lua
--[[
list.lua - one page of a collection's documents in id order, and its head.

KEYS[1] ids zset    KEYS[2] docs hash    KEYS[3] meta hash    KEYS[4] log stream
ARGV[1] "" for the first page, else the last id of the previous page
ARGV[2] page size (ids read)    ARGV[3] "1" to include tombstones
ARGV[4] epoch to create if the collection has none (or needs a new one)
ARGV[5] "1" when restarts are declared lossless (life.lua)
ARGV[6] byte budget: past the first document, the page ends before the one
        that would pass it (next is then the last id it holds)

Reply: {epoch, seq, next, doc...}  next is "" on the last page. Tombstones
are skipped unless asked for, so a page may hold fewer than ARGV[2] docs.
]]
local ids, docs, meta, log = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local limit, budget = tonumber(ARGV[2]), tonumber(ARGV[6])
if not limit or limit < 1 or ARGV[4] == '' or not budget then
  return redis.error_reply('ERR syncgate list.lua: bad arguments')
end
--#include types
if wrong_type(ids, 'zset') or wrong_type(docs, 'hash') or
   wrong_type(meta, 'hash') or wrong_type(log, 'stream') then
  return redis.error_reply('WRONGTYPE syncgate: a key of this collection holds the wrong type')
end

--#include life
local epoch, seq = life_check(meta, log, ARGV[4], ARGV[5])
if not epoch then epoch, seq = life_create_read(meta, log, ARGV[4]) end

local from = '-'
if ARGV[1] ~= '' then from = '(' .. ARGV[1] end
local page = redis.call('ZRANGEBYLEX', ids, from, '+', 'LIMIT', 0, limit + 1)
local nxt = ''
if #page > limit then
  page[limit + 1] = nil
  nxt = page[limit]
end
local out = {epoch, seq, nxt}
if #page > 0 then
  local vals = redis.call('HMGET', docs, unpack(page))
  local used = 0
  for i = 1, #vals do
    local d = vals[i]
    if d and (ARGV[3] == '1' or
        string.match(d, '^{"collection":"[^"]*","id":"[^"]*","deleted":(%a+)') ~= 'true') then
      used = used + #d
      if #out > 3 and used > budget then
        out[3] = page[i - 1]
        break
      end
      out[#out + 1] = d
    end
  end
end
return out
