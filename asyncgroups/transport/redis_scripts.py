"""The Lua scripts behind `RedisStore`.

Every change to a shared limit happens inside one of these scripts, so it is
atomic; times are Redis's own (``TIME``), so hosts need not agree on their clocks.
"""

import math
from typing import Any

__all__ = ["SCRIPTS", "connect", "num"]

#: KEYS: bucket, adaptive. ARGV: rate, capacity, local cap, ttl ms, fresh pause s.
#: A missing bucket starts full, or, with a fresh pause > 0 (the caller comes back
#: after Redis was away: it may have restarted empty while others still spend
#: local shares), empty and paused that long. Returns {delay seconds, rate in force}.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local shared = tonumber(redis.call('HGET', KEYS[2], 'rate'))
if shared and shared < rate then rate = shared end
local cap = tonumber(ARGV[3])
if cap < rate then rate = cap end
local capacity = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(b[1])
local stamp = tonumber(b[2]) or now
if not tokens then
  tokens = capacity
  local fresh = tonumber(ARGV[5])
  if fresh > 0 then tokens, stamp = 0, now + fresh end
end
if now > stamp then
  tokens = math.min(capacity, tokens + (now - stamp) * rate)
  stamp = now
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens),
           'stamp', string.format('%.6f', stamp))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local delay = 0
if tokens < 0 then delay = -tokens / rate end
if stamp > now then delay = delay + (stamp - now) end  -- bucket paused by the gate
return {string.format('%.6f', delay), string.format('%.6f', rate)}
"""

#: KEYS: bucket. ARGV: capacity, ttl ms. Gives back one unused token, never above
#: capacity; not while the bucket is paused by the gate (closing it forgave the debt).
_REFUND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(b[1])
local stamp = tonumber(b[2])
if (not tokens) or (not stamp) or stamp > now then return 0 end
tokens = math.min(tonumber(ARGV[1]), tokens + 1)
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

#: KEYS: gate, bucket. ARGV: pause seconds. Moves the pause-until later, never
#: earlier; the bucket holds no token until then (senders resume paced).
_CLOSE_GATE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local pause = tonumber(ARGV[1])
local untl = now + pause
local cur = tonumber(redis.call('HGET', KEYS[1], 'until'))
if (not cur) or untl > cur then
  redis.call('HSET', KEYS[1], 'until', string.format('%.6f', untl), 'pause', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], math.ceil(pause * 1000) + 60000)
  redis.call('HSET', KEYS[2], 'tokens', '0', 'stamp', string.format('%.6f', untl))
  redis.call('PEXPIRE', KEYS[2], math.ceil(pause * 1000) + 60000)
end
return 1
"""

#: KEYS: gate. Returns {seconds until open (<= 0: open), the pause that closed it}.
_GATE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local g = redis.call('HMGET', KEYS[1], 'until', 'pause')
local untl = tonumber(g[1])
if not untl then return {'-1', '0'} end
return {string.format('%.6f', untl - now), g[2]}
"""

#: KEYS: adaptive. ARGV: seconds since the throttled request was sent (-1: unknown),
#: beta, min rate, ceiling, cooldown, scale, ttl ms. Returns the rate.
_THROTTLE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local beta, min_rate = tonumber(ARGV[2]), tonumber(ARGV[3])
local ceiling, cooldown, scale = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local h = redis.call('HMGET', KEYS[1], 'rate', 'last', 'throttled')
local rate = tonumber(h[1]) or ceiling
local last = tonumber(h[2]) or 0
local age = tonumber(ARGV[1])
if age >= 0 and h[3] == '1' and (now - age) < last + cooldown then
  return string.format('%.6f', rate)
end
local basis = rate
local k = (basis * (1 - beta) / scale) ^ (1 / 3)
rate = math.max(min_rate, math.min(ceiling, basis * beta))
redis.call('HSET', KEYS[1], 'rate', string.format('%.6f', rate),
           'w_max', string.format('%.6f', basis), 'k', string.format('%.6f', k),
           'last', string.format('%.6f', now), 'throttled', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return string.format('%.6f', rate)
"""

#: KEYS: adaptive. ARGV: ceiling, min rate, scale, ttl ms. CUBIC recovery.
_RECOVER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local h = redis.call('HMGET', KEYS[1], 'rate', 'w_max', 'k', 'last', 'throttled')
local ceiling, min_rate = tonumber(ARGV[1]), tonumber(ARGV[2])
if h[5] ~= '1' then return string.format('%.6f', tonumber(h[1]) or ceiling) end
local dt = now - tonumber(h[4])
local cubic = tonumber(ARGV[3]) * (dt - tonumber(h[3])) ^ 3 + tonumber(h[2])
local rate = math.max(min_rate, math.min(cubic, ceiling))
if rate >= ceiling then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'rate', string.format('%.6f', rate))
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return string.format('%.6f', rate)
"""


#: Name -> source, registered once per connection.
SCRIPTS = {
    "reserve": _RESERVE,
    "refund": _REFUND,
    "close_gate": _CLOSE_GATE,
    "gate": _GATE,
    "throttle": _THROTTLE,
    "recover": _RECOVER,
}


def connect(url: str, timeout: float) -> tuple[Any, dict[str, Any]]:
    """A Redis client (no retries of its own: the limiter falls back) and the scripts."""
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    client = aioredis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )
    return client, {name: client.register_script(src) for name, src in SCRIPTS.items()}


def num(value: float) -> str:
    """A number for a script argument (Lua has no infinity literal)."""
    return "1e308" if math.isinf(value) else repr(value)
