"""The Lua scripts the Redis store runs, each with the ``KEYS`` and ``ARGV`` it expects.

Redis runs a script atomically: no other client's command runs in between, which
is what makes a save all-or-nothing and keeps a request that ends after a logout
from bringing the session back. Each script is registered once by the store
(``EVALSHA`` by its SHA, loaded again after a Redis restart) and every key it
touches is passed in ``KEYS``, so that on a Redis Cluster all of them are known
to lie in one hash slot.
"""

from __future__ import annotations

# A key holds one of our sessions when it is a hash whose __meta__ is a JSON object
# with a numeric "created"; anything else under our prefix (another program's
# string, list, set or hash) is no session. Every script that reads a session starts with this function.
SESSION_META_FUNCTION = """
local function session_meta(name)
  if redis.call('TYPE', name)['ok'] ~= 'hash' then
    return nil
  end
  local text = redis.call('HGET', name, '__meta__')
  if not text then
    return nil
  end
  local ok, decoded = pcall(cjson.decode, text)
  if ok and type(decoded) == 'table' and type(decoded['created']) == 'number' then
    return decoded
  end
  return nil
end
"""

# The user's set of session keys, for destroy_user: it lives as long as its longest session.
USER_INDEX_FUNCTION = """
local function index_user(users, key, source, ttl)
  local kind = redis.call('TYPE', users)['ok']
  if kind ~= 'set' and kind ~= 'none' then
    redis.call('DEL', users)  -- not a set of ours: rebuilt
  end
  local fresh = kind ~= 'set'
  redis.call('SADD', users, key)
  if source ~= key then
    redis.call('SREM', users, source)
  end
  local left = redis.call('PTTL', users)
  if ttl == '' then
    redis.call('PERSIST', users)
  elseif fresh or (left >= 0 and left < tonumber(ttl)) then
    redis.call('PEXPIRE', users, ttl)
  end
end
"""

# Applies a journal (sessions.record.apply_journal) to a session, creating it, or moving it
# from the ID it had before regenerate; writes nothing and returns {0} if the session is
# gone, else {1, name, new text, ...} for each increment. Laid out by RedisStore.save:
#
#   KEYS[1]  the session's key            ARGV[1]  create: 1 or 0
#   KEYS[2]  the key it moves from        ARGV[2]  meta as JSON
#            (KEYS[1] when it stays)      ARGV[3]  TTL in ms from now, '' for none
#   KEYS[3]  the user's set of session    ARGV[4]  clear_values: 1 or 0
#            keys, when it has a user     ARGV[5]  VALUE_PREFIX, for the clear
#            (on one server only: on a    ARGV[6]  D, how many deletes follow
#            cluster INDEX_USER does it)  ARGV[7]  S, how many sets follow
#                                         ARGV[8]  what the key of a user's sessions
#                                                  being destroyed starts with (the user
#                                                  follows); '' on a cluster
#                                         ARGV[9...]  D names, then S name/text pairs,
#                                                  then name/delta pairs to the end
#
# A session that DESTROY_USER_BEGIN has set aside for deletion counts as gone: it
# is read from ARGV[8] .. its user, a key not in KEYS, which one server allows (a
# cluster does not, and there destroy_user runs one session at a time instead).
SAVE = (
    SESSION_META_FUNCTION
    + USER_INDEX_FUNCTION
    + """
local key, source = KEYS[1], KEYS[2]
local create, meta, ttl = ARGV[1] == '1', ARGV[2], ARGV[3]
local clear, value_prefix, ending_prefix = ARGV[4] == '1', ARGV[5], ARGV[8]
local stored = session_meta(source)
local exists = stored ~= nil
if exists and ending_prefix ~= '' and type(stored['user']) == 'string'
    and redis.call('SISMEMBER', ending_prefix .. stored['user'], source) == 1 then
  return {0}  -- a "log out everywhere" began after it was saved: it is ending, whatever comes
end
if not exists and not create then
  return {0}
end
-- Another program's value where a new session goes is replaced. Only then: a
-- script's first write decides whether Redis at maxmemory refuses it (HSET) or
-- lets the whole script through (DEL), and a new session must be refused.
if not exists and redis.call('EXISTS', key) == 1 then
  redis.call('DEL', key)
end

local at, deleted, set = 9, {}, {}
for _ = 1, tonumber(ARGV[6]) do
  deleted[ARGV[at]] = true
  at = at + 1
end
for _ = 1, tonumber(ARGV[7]) do
  set[ARGV[at]] = ARGV[at + 1]
  at = at + 2
end

local function is_value(name)
  return string.sub(name, 1, #value_prefix) == value_prefix
end

-- Counters are integers of any size, as Python's: decimal text added digit by digit
-- (a Lua number is a double, exact only up to 2^53).
local function sign_and_digits(text)  -- '[+-]?digits' -> negative?, the digits without leading zeros
  local sign, digits = string.match(text, '^([+-]?)0*(%d*)$')
  if digits == '' then
    return false, '0'
  end
  return sign == '-', digits
end

local function smaller(a, b)  -- digits without leading zeros; bytes compared, whatever Redis's locale
  if #a ~= #b then
    return #a < #b
  end
  for k = 1, #a do
    local x, y = string.byte(a, k), string.byte(b, k)
    if x ~= y then
      return x < y
    end
  end
  return false
end

local function sum_of(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local d = carry + (i > 0 and string.byte(a, i) - 48 or 0) + (j > 0 and string.byte(b, j) - 48 or 0)
    out[#out + 1], carry = d % 10, (d >= 10 and 1 or 0)
    i, j = i - 1, j - 1
  end
  return string.reverse(table.concat(out))
end

local function difference_of(a, b)  -- a >= b
  local out, borrow, j = {}, 0, #b
  for i = #a, 1, -1 do
    local d = string.byte(a, i) - 48 - borrow - (j > 0 and string.byte(b, j) - 48 or 0)
    out[#out + 1], borrow = d % 10, (d < 0 and 1 or 0)
    j = j - 1
  end
  local digits = string.gsub(string.reverse(table.concat(out)), '^0+', '')
  return digits == '' and '0' or digits
end

local function add(x, y)
  local x_negative, x_digits = sign_and_digits(x)
  local y_negative, y_digits = sign_and_digits(y)
  local negative, digits
  if x_negative == y_negative then
    negative, digits = x_negative, sum_of(x_digits, y_digits)
  elseif smaller(x_digits, y_digits) then
    negative, digits = y_negative, difference_of(y_digits, x_digits)
  else
    negative, digits = x_negative, difference_of(x_digits, y_digits)
  end
  return (negative and digits ~= '0') and ('-' .. digits) or digits
end

-- The counting rule of sessions.record.increment_text, as decimal text: the stored
-- JSON (after an optional "!" immutable mark) counts when it is a number (truncated
-- toward zero) or a string of decimal digits; anything else counts as 0.
local function counter(text)
  if not text then
    return '0'
  end
  if string.sub(text, 1, 1) == '!' then
    text = string.sub(text, 2)
  end
  if string.match(text, '^%-?[1-9]%d*$') or string.match(text, '^%-?0$') then
    return text  -- a JSON integer, exact however long (cjson would round it to a double)
  end
  local ok, value = pcall(cjson.decode, text)
  if not ok then
    return '0'
  end
  if type(value) == 'number' then
    if value ~= value or value == math.huge or value == -math.huge then
      return '0'
    end
    if value >= 0 then
      value = math.floor(value)
    else
      value = math.ceil(value)
    end
    return string.format('%.0f', value)  -- every digit of the integral double, as Python's int(float)
  end
  if type(value) == 'string' and string.match(value, '^[+-]?%d+$') then
    return value
  end
  return '0'
end

-- Step 4's increments are computed here, before the first write; each counts from
-- what steps 1-3 leave (a set, else nothing if deleted or cleared, else the stored
-- text), so the result is apply_journal's.
local reply = {1}
for i = at, #ARGV, 2 do
  local name = ARGV[i]
  local current = set[name]
  if current == nil and exists and not deleted[name] and not (clear and is_value(name)) then
    current = redis.call('HGET', source, name)
  end
  reply[#reply + 1] = name
  reply[#reply + 1] = add(counter(current), ARGV[i + 1])
end

if exists and source ~= key then
  redis.call('RENAME', source, key)
end
-- apply_journal's steps: 1. a clear removes every value (never a flash)
if clear then
  for _, name in ipairs(redis.call('HKEYS', key)) do
    if is_value(name) then
      redis.call('HDEL', key, name)
    end
  end
end
for name in pairs(deleted) do  -- 2. deletes
  redis.call('HDEL', key, name)
end
for name, text in pairs(set) do  -- 3. sets
  redis.call('HSET', key, name, text)
end
for i = 2, #reply, 2 do  -- 4. increments, as computed above
  redis.call('HSET', key, reply[i], reply[i + 1])
end
redis.call('HSET', key, '__meta__', meta)
if ttl == '' then
  redis.call('PERSIST', key)
else
  redis.call('PEXPIRE', key, ttl)
end

-- The user's set of session keys, for destroy_user (on a cluster, INDEX_USER has updated it already).
if KEYS[3] then
  index_user(KEYS[3], key, source, ttl)
end
return reply
"""
)

# On a cluster the user's set lives in another slot than the session: indexed in a script
# of its own, before the save.
#
#   KEYS[1]  the user's set of session keys
#   ARGV[1]  the session's key    ARGV[2]  the key it moves from    ARGV[3]  SAVE's TTL
INDEX_USER = (
    USER_INDEX_FUNCTION
    + """
index_user(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
return 1
"""
)

# On a cluster, destroy_user's step for one session (each in its own slot): deleted if it
# is still the user's; returns 1 if it was live by the store's clock, else 0.
#
#   KEYS[1]  the session's key
#   ARGV[1]  the user    ARGV[2]  the store's clock, in seconds
DESTROY_IF_USER = (
    SESSION_META_FUNCTION
    + """
local decoded = session_meta(KEYS[1])
if not decoded or decoded['user'] ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
local ends = decoded['expires_at']
if type(ends) ~= 'number' or ends > tonumber(ARGV[2]) then
  return 1
end
return 0
"""
)

# "Log out everywhere" on one server, step 1 of DESTROY_USER_BATCH's loop: sets the
# user's sessions saved until now aside, in one O(1) RENAME, so that a login saved
# from now on goes into a fresh set and survives, while every session set aside is
# gone to SAVE from this moment. If an earlier destroy_user of the user never
# finished (its process died), its leftovers join them.
#
#   KEYS[1]  the user's set of session keys
#   KEYS[2]  the set of the user's sessions being destroyed (ARGV[8] of SAVE .. the user)
DESTROY_USER_BEGIN = """
local users, ending = KEYS[1], KEYS[2]
local kind = redis.call('TYPE', users)['ok']
if kind == 'set' then
  if redis.call('TYPE', ending)['ok'] == 'set' then
    local users_left, ending_left = redis.call('PTTL', users), redis.call('PTTL', ending)
    redis.call('SUNIONSTORE', ending, ending, users)
    redis.call('UNLINK', users)
    if users_left >= 0 and ending_left >= 0 then  -- else no TTL, as SUNIONSTORE left it
      redis.call('PEXPIRE', ending, math.max(users_left, ending_left))
    end
  else
    redis.call('RENAME', users, ending)
  end
elseif kind ~= 'none' then
  redis.call('UNLINK', users)  -- not a set of ours: the next save rebuilds it
end
return 1
"""

# Step 2, run until it answers {0}: deletes up to ARGV[3] of the sessions set aside,
# each if it still belongs to the user (it may have been logged in as someone else
# before it was set aside). Returns {how many are left to do, then the keys of those
# deleted that were still live by the store's clock}: one past its expiry that Redis
# has not dropped yet is deleted without being counted, as the other stores do.
# UNLINK frees a big session's memory in Redis's background thread.
#
#   KEYS[1]  the set of the user's sessions being destroyed
#   ARGV[1]  the user    ARGV[2]  the store's clock, in seconds    ARGV[3]  the batch size
DESTROY_USER_BATCH = (
    SESSION_META_FUNCTION
    + """
if redis.call('TYPE', KEYS[1])['ok'] ~= 'set' then
  return {0}
end
local reply, now = {0}, tonumber(ARGV[2])
for _, key in ipairs(redis.call('SPOP', KEYS[1], tonumber(ARGV[3]))) do
  local decoded = session_meta(key)
  if decoded and decoded['user'] == ARGV[1] then
    redis.call('UNLINK', key)
    local ends = decoded['expires_at']
    if type(ends) ~= 'number' or ends > now then
      reply[#reply + 1] = key
    end
  end
end
reply[1] = redis.call('SCARD', KEYS[1])
return reply
"""
)
