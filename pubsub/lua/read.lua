#!lua flags=no-writes
--[[
read.lua - a stored document and the answer kept under an idempotency key,
read together so that a write retried through another gateway sees either
both the change and its answer or neither (DESIGN.md section 6).

KEYS[1] docs hash    KEYS[2] idempotency record (string)
ARGV[1] document id

Reply: {document or nil, record or nil}
     | an error reply   keys of the wrong type
]]
return {redis.call('HGET', KEYS[1], ARGV[1]), redis.call('GET', KEYS[2])}
