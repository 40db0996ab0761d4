"""One rate budget for every worker: a :class:`RateLimiter` kept in Redis.

Ozon counts requests per Client-Id, not per process. When several processes or machines (Celery
workers, Kubernetes replicas, cron jobs) share one Client-Id, each one pacing itself to 50 rps
sends 50 × N together. :class:`RedisRateLimiter` keeps the budget in Redis instead, so every
client that points at the same Redis (and key prefix) draws from one budget::

    from ozon_async import OzonClient
    from ozon_async.redis_limiter import RedisRateLimiter

    async with RedisRateLimiter.from_url("redis://redis:6379/0") as limiter:
        async with OzonClient(client_id="123456", api_key="...", limiter=limiter) as client:
            ...

or set ``OZON_RATE_LIMIT_REDIS_URL`` and :class:`~ozon_async.OzonClient` uses one by itself.
Needs the ``redis`` extra (``pip install 'ozon-async[redis]'``); ``import ozon_async`` never
imports redis.

How it decides. Every step is one run of one Lua script (atomic), and every time in Redis is
Redis's own clock (``TIME``, in microseconds), so workers whose clocks disagree share one
budget: a worker only ever measures durations on its own clock (how long ago its request went
out or was answered) and Redis turns them into its time.

* Per key, Redis keeps the time of the next evenly paced slot and a log of the grants that
  still count, each with the time it stops counting (its *release*). A caller takes the next
  slot (moving it on by ``(period + jitter_margin + e) / requests``, where ``e`` is the mean time
  slots took from grant to answer, kept in Redis from the workers' reports: 50 rps is paced at
  about 47.5 on a fast link) and sleeps until it comes; it is granted only while fewer than
  ``requests`` grants count, otherwise it waits for the earliest release. Even spacing stops
  bursts and keeps the log from filling up; the log is what keeps the limit.
* A slot of :meth:`~RedisRateLimiter.acquire_slot` (what :class:`~ozon_async.OzonClient`
  takes) is released ``period`` after the answer to its request reached the worker, and never
  later than ``period`` after ``max_guard`` (1 s) past the moment the request went out. At the
  grant Redis does not know either yet, so it logs the longest: ``period + jitter_margin +
  max_guard`` after the grant. The worker then tells it, through the slot's ``sending()`` and
  ``answered()``: a request that went out more than ``jitter_margin`` after its grant (a
  stalled event loop) is reported at once, and its release moves to ``max_guard + period``
  after the sending; an answer brings the release forward to ``period`` after it. Answers
  ride along with the worker's next step on the same key (or go in a batch after 20 ms), so
  they add no round trip while the worker keeps taking slots: a grant costs one (two for a
  caller that queues: one to take its place, one when it comes). A slot never answered (the
  call failed, the worker died) is released by the logged time, which ``max_guard`` bounds.

Why the server never sees more than ``requests`` arrivals in any window of ``period``: take
any window (t - period, t] and the requests that arrive in it, and among them the one granted
last, at g (g <= its arrival <= t). Every one of them was granted at or before g. Each arrived
after its grant and before its answer (it was answered after it arrived), and, when it was
answered more than ``max_guard`` after it went out, within ``max_guard`` of going out (the
assumption: a request sent reaches Ozon within ``max_guard``, 1 s, or not at all). So each
one's release is at least ``period`` after its arrival, after t - period + period = t >= g:
at the moment of g, all of them counted in the log. The log never holds ``requests`` grants
when it makes one, so the window holds at most ``requests``. Redis's release of a grant is
never earlier than that rule: the one logged at the grant covers a sending up to
``jitter_margin`` after it; a later sending is reported as it happens and raises the release
(it reaches Redis long before the logged release passes unless the worker stalled for more than
``period + jitter_margin + max_guard`` between grant and send: then the limiter logs a WARNING);
an answer lowers the release only to ``period`` after a time no earlier than the answer's (the
worker says how long ago the answer came, and Redis subtracts that from its time of reading the
report). Nothing else matters: not how long a grant takes to reach its worker, how late the
worker sends, how long the server takes to count a request, or whose clock says what. The cost
is that a slot counts for the time its worker takes to see the answer: a busy or starved worker
(a loaded machine) holds its slots longer, and the fleet's rate drops to about ``requests /
(period + that time)``.

* :meth:`~RedisRateLimiter.acquire` (a caller that says nothing after the grant) and
  ``acquire_window`` (per-item rules: one stock update per offer and warehouse per 30 s, 10
  price updates per product per hour) log each grant until ``period + jitter_margin`` after it
  (requests trusted to arrive within ``jitter_margin`` of their grant); a grant whose answer
  from Redis reached its caller late (a busy event loop) is logged again at the present time.
* A caller cancelled while it waits for its slot gives the slot back (the next free slot moves
  back by one interval, and a grant made as it was cancelled is taken out of the log). Keys
  expire on their own once idle (``PEXPIRE``).

``acquire_lease`` (an account's turn to run an export, when Ozon allows one at a time) keeps the
holders of a key in a sorted set scored by when each lease lapses: a caller takes a place when
fewer than ``limit`` unlapsed leases are held, renews its lease while it works and removes it when
done. Waiters in this process are woken as soon as one of them releases; others look again at
least every ``lease_poll`` seconds and at the moment the first lease would lapse.

When Redis cannot be reached (refused, timed out, failing), ``on_error`` decides: ``"local"``
(default) paces in this process with an :class:`~ozon_async.InProcessRateLimiter` at
``local_share`` of each rate (set it to 1/N for N workers) and logs one WARNING per outage;
``"raise"`` raises :class:`~ozon_async.RateLimiterUnavailableError` at once. During an outage
Redis is tried again at most once per ``retry_interval`` seconds, and shared pacing resumes as
soon as it answers. Across the switch (and after a restart, which empties Redis) the grants of
the other side are not known: a window may then hold up to one period's worth of both.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import os
import secrets
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from ozon_async._clock import Clock
from ozon_async._exceptions import ConfigurationError, RateLimiterUnavailableError
from ozon_async._ratelimit import InProcessRateLimiter, Lease, RateLimiter, RateLimitSlot

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

__all__ = ["DEFAULT_PREFIX", "ENV_PREFIX", "ENV_URL", "RedisRateLimiter"]

logger = logging.getLogger("ozon_async")

#: Prefix of every key the limiter writes.
DEFAULT_PREFIX = "ozon_async:rl:"
#: Environment variable :class:`~ozon_async.OzonClient` reads when it is given no limiter.
ENV_URL = "OZON_RATE_LIMIT_REDIS_URL"
#: Environment variable with the key prefix (default :data:`DEFAULT_PREFIX`).
ENV_PREFIX = "OZON_RATE_LIMIT_REDIS_PREFIX"
#: Environment variable with the failure policy, ``local`` or ``raise``.
ENV_ON_ERROR = "OZON_RATE_LIMIT_REDIS_ON_ERROR"

OnError = Literal["local", "raise"]

# One step of a key, atomically. Times are integer microseconds.
# KEYS[1]: the pacing key, a hash: t, the time of the next free slot; e, the mean time slots
#          of acquire_slot took from grant to answer (pacing leaves room for it); r and k, the
#          release that the last k + 1 callers who found the log full were told to wait for.
# KEYS[2]: the log, a sorted set of the grants that still count, scored by their release (the
#          time they stop counting).
# ARGV: op, now ('' takes Redis TIME), interval (before room for answers), period, size,
# member, slot, min_ttl (ms; keys live at least this long, for injected clocks whose time does
# not run with Redis's), hold (a new grant counts until now + period + hold), requests; then
# what workers report about earlier grants, five values each: member, kind, ago (how long
# before now it happened), extra, took:
#   a  answered `ago` ago, `took` after its grant: its release comes forward to `extra` (the
#      period) after that
#   s  sent `ago` ago, later than its grant allowed for: its release goes back to `extra`
#      (max_guard + period) after that; counted again if it had already been released
#   d  its caller was cancelled before sending anything: out of the log
# and then the op:
#   update  only the reports.
#   take    reserve the next evenly paced slot, `interval + e / requests` after the one
#           before; if it is due now, go on as commit.
#   commit  grant if fewer than `size` grants count now, else say how long until the earliest
#           release that makes room (for paced keys, the k-th next release for the k-th
#           caller told of the same one).
#   give    a caller cancelled before its slot gives it back.
#   refresh re-date a grant whose reply reached the caller late: drop it (member), then commit.
# Reply {code, wait, slot, expired}: code 0 granted; 1 sleep `wait` until `slot`, then commit;
# 2 the log is full: sleep `wait`, then commit again. `expired`: reported sendings of grants
# that had already been released.
_LUA = """
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[2])
end
local op = ARGV[1]
local period = tonumber(ARGV[4])
local min_ttl = tonumber(ARGV[8])
local pace, log = KEYS[1], KEYS[2]
local function ttl(us)
  return math.max(math.ceil(us / 1000) + 1, min_ttl)
end
local function keep()
  local last = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIRE', log, ttl(tonumber(last[2]) - now))
  end
end
local state = redis.call('HMGET', pace, 't', 'e')
local tat, mean = tonumber(state[1]), tonumber(state[2]) or 0
local function save(t)
  -- the mean is kept a period past the last slot
  redis.call('HSET', pace, 't', string.format('%.0f', t), 'e', string.format('%.0f', mean))
  redis.call('PEXPIRE', pace, ttl(math.max(t - now, 0) + period))
end
redis.call('ZREMRANGEBYSCORE', log, '-inf', now)
local expired = 0
local raised = false
local answers = false
for i = 11, #ARGV, 5 do
  local m, kind = ARGV[i], ARGV[i + 1]
  local release = now - tonumber(ARGV[i + 2]) + tonumber(ARGV[i + 3])
  if kind == 'd' then
    redis.call('ZREM', log, m)
  else
    local score = redis.call('ZSCORE', log, m)
    if kind == 'a' then
      if score and release < tonumber(score) then
        redis.call('ZADD', log, release, m)
      end
      mean = mean + (tonumber(ARGV[i + 4]) - mean) / 8
      answers = true
    elseif not score then
      expired = expired + 1
      if release > now then
        redis.call('ZADD', log, release, m)
        raised = true
      end
    elseif release > tonumber(score) then
      redis.call('ZADD', log, release, m)
      raised = true
    end
  end
end
if raised then
  keep()
end
if answers and op ~= 'take' and op ~= 'give' then
  save(tat or now)
end
local interval = tonumber(ARGV[3]) + math.floor(mean / tonumber(ARGV[10]))
if op == 'update' then
  return {0, 0, 0, expired}
end
if op == 'give' then
  local slot = tonumber(ARGV[7])
  if tat and slot > now then
    save(math.max(tat - interval, now))
  elseif answers then
    save(tat or now)
  end
  return {0, 0, 0, expired}
end
if op == 'take' then
  local slot = now
  if tat and tat > now then
    slot = tat
  end
  save(slot + interval)
  if slot > now then
    return {1, slot - now, slot, expired}
  end
end
if op == 'refresh' then
  redis.call('ZREM', log, ARGV[6])
end
local size = tonumber(ARGV[5])
local n = redis.call('ZCARD', log)
if n < size then
  redis.call('ZADD', log, now + period + tonumber(ARGV[9]), ARGV[6])
  keep()
  return {0, 0, 0, expired}
end
local first = n - size
local at = tonumber(redis.call('ZRANGE', log, first, first, 'WITHSCORES')[2])
if tonumber(ARGV[3]) > 0 then
  -- Paced callers that find the log full wait for successive releases, not all for the first
  -- (the pacing hash remembers the release the last one was told of and how many were).
  local told = redis.call('HMGET', pace, 'r', 'k')
  local k = 0
  if tonumber(told[1]) == at then
    k = (tonumber(told[2]) or 0) + 1
  end
  redis.call('HSET', pace, 'r', string.format('%.0f', at), 'k', k)
  if redis.call('PTTL', pace) < 0 then
    redis.call('PEXPIRE', pace, ttl(period))
  end
  local i = math.min(first + k, n - 1)
  at = tonumber(redis.call('ZRANGE', log, i, i, 'WITHSCORES')[2])
end
return {2, at - now, 0, expired}
"""

_GRANTED, _SLOT, _FULL = 0, 1, 2
# A grant of acquire/acquire_window whose answer took longer than a quarter of its margin to
# reach the caller is recorded again at the present time, at most _MAX_REFRESHES times.
_MAX_REFRESHES = 3
# With an injected clock, time in Redis does not pass with the keys' time: keep keys a day.
_INJECTED_CLOCK_TTL_MS = 86_400_000
# Answers wait at most this long (seconds) for a step on their key to ride along with before
# they go in a batch of their own.
_FLUSH_DELAY = 0.02
# A report about a grant: (member, kind, when it happened on the worker's clock, extra µs,
# how long after its grant it was answered, µs).
_Report = tuple[str, str, float, int, int]


class _Unavailable(Exception):
    """Redis did not answer a step (the cause is chained)."""


# Leases. KEYS[1]: a sorted set of lease members scored by when each lapses (microseconds).
# ARGV: op, now ('' takes Redis TIME), member, limit, ttl, min_ttl (ms).
#   take    drop lapsed members; hold (or extend) `member` if it holds a place or one is free.
#   renew   extend `member` if it still holds a place.
#   release remove `member`.
# Reply {code, wait}: 0 held; 1 full, the first lease lapses in `wait`; 2 not held (renew).
_LEASE_LUA = """
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[2])
end
local op = ARGV[1]
local member = ARGV[3]
local limit = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local min_ttl = tonumber(ARGV[6])
local function keep()
  redis.call('PEXPIRE', KEYS[1], math.max(math.ceil(ttl / 1000) + 1, min_ttl))
end
if op == 'release' then
  redis.call('ZREM', KEYS[1], member)
  return {0, 0}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], member) then
  redis.call('ZADD', KEYS[1], string.format('%.0f', now + ttl), member)
  keep()
  return {0, 0}
end
if op == 'renew' then
  return {2, 0}
end
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], string.format('%.0f', now + ttl), member)
  keep()
  return {0, 0}
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {1, math.max(0, tonumber(first[2]) - now)}
"""


class _RedisLease:
    """A lease kept in Redis by :meth:`RedisRateLimiter.acquire_lease`."""

    __slots__ = ("key", "limiter", "member", "released", "ttl")

    def __init__(self, limiter: RedisRateLimiter, key: str, member: str, ttl: float) -> None:
        self.limiter = limiter
        self.key = key
        self.member = member
        self.ttl = ttl
        self.released = False

    async def renew(self) -> bool:
        if self.released:
            return False
        try:
            code, _ = await self.limiter._lease_step("renew", self.key, self.member, 0, self.ttl)
        except _Unavailable as failure:
            self.limiter._went_down(failure.__cause__ or failure)
            return True  # nothing known to the contrary; the next renewal tries again
        return code == _GRANTED

    async def release(self) -> None:
        if self.released:
            return
        self.released = True
        with contextlib.suppress(_Unavailable):  # it lapses by itself within its ttl
            await self.limiter._lease_step("release", self.key, self.member, 0, self.ttl)
        self.limiter._lease_released(self.key)

    def __repr__(self) -> str:
        return f"<redis lease {self.key!r} {'released' if self.released else 'held'}>"


def _redis_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError, asyncio.TimeoutError)


def _where(url: str) -> str:
    """The URL without credentials, for logs and reprs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class _SharedSlot:
    """A slot granted through Redis (a :class:`~ozon_async.RateLimitSlot`): tells Redis when
    its request went out late and when its answer came."""

    __slots__ = ("_answered", "_due", "_keys", "_late", "_limiter", "_member", "_period", "_sent")

    def __init__(
        self, limiter: RedisRateLimiter, keys: list[str], member: str, due: float, period: int
    ) -> None:
        self._limiter = limiter
        self._keys = keys
        self._member = member
        self._due = due  # on the worker's clock; the grant was made no earlier
        self._period = period
        self._sent = self._answered = False
        self._late: asyncio.Task[None] | None = None

    def sending(self) -> None:
        if self._sent:
            return
        self._sent = True
        lim = self._limiter
        now = lim._local()
        if now - self._due > lim.jitter_margin:
            # Later than the release logged at the grant allows for: tell Redis now (it has
            # at least a period left before that release passes).
            report = (self._member, "s", now, lim._guard_us + self._period, 0)
            self._late = lim._report(self._keys, report, urgent=True)

    def answered(self) -> None:
        if self._answered:
            return
        self._answered = True
        lim = self._limiter
        now = lim._local()
        # how long it held its slot past the period, for pacing (at most its logged hold)
        took = min(math.ceil((now - self._due) * 1e6), lim._held_us)
        report = (self._member, "a", now, self._period, took)
        late = self._late
        if late is not None and not late.done():
            # After the sending's report, never before it: Redis keeps the lower release.
            late.add_done_callback(lambda _: lim._report(self._keys, report))
        else:
            lim._report(self._keys, report)


class RedisRateLimiter(RateLimiter):
    """Rate limits kept in Redis and shared by every process and machine that uses it.

    Build it with :meth:`from_url` (it owns its connections and closes them in :meth:`aclose`),
    or pass a ``redis.asyncio.Redis`` you manage yourself. Use one per event loop.

    Args:
        redis: a ``redis.asyncio.Redis`` client (not closed by the limiter).
        url: a ``redis://``, ``rediss://`` or ``unix://`` URL to connect to instead.
        redis_options: keyword arguments for ``redis.asyncio.BlockingConnectionPool.from_url``
            with ``url``.
        prefix: prefix of every key written (default ``"ozon_async:rl:"``). Workers that share a
            budget must use the same prefix; different prefixes keep budgets apart.
        on_error: what to do when Redis cannot be reached: ``"local"`` paces in this process
            alone (one WARNING per outage), ``"raise"`` raises
            :class:`~ozon_async.RateLimiterUnavailableError`.
        max_guard: the longest (seconds) a request is trusted to take from going out to
            reaching Ozon (default 1.0). A slot of :meth:`acquire_slot` counts until
            ``period`` after its answer, at most until ``period`` after ``max_guard`` past its
            sending; lower it to pace closer to the limit over a slow link (answers slower
            than ``max_guard`` then free their slot sooner), at the price of that trust.
        jitter_margin: seconds (default 0.05) that pacing leaves per period besides the mean
            time slots take from grant to answer, so that the log rarely makes a caller wait
            (grants are ``(period + jitter_margin + that time) / requests`` apart: 50 rps is
            paced at about 47.5 on a fast link); also the time a slot may take from its grant
            to going out without telling Redis, and that a grant of :meth:`acquire` or
            :meth:`acquire_window` (whose callers say nothing after it) is trusted to take to
            reach Ozon.
        local_share: fraction of each ``acquire`` rate a process uses while it paces alone
            (default 1.0). With N workers, ``1 / N`` keeps the whole fleet under the limit
            during an outage.
        local_limiter: the in-process limiter for outages (default: a new one).
        retry_interval: during an outage, seconds between attempts to reach Redis again.
        clock: a time source shared by every limiter on the same keys (tests and sandboxes
            use a virtual one); by default time comes from Redis ``TIME`` and waits are
            :func:`asyncio.sleep`.
    """

    def __init__(
        self,
        redis: Redis | None = None,
        *,
        url: str | None = None,
        redis_options: Mapping[str, Any] | None = None,
        prefix: str = DEFAULT_PREFIX,
        on_error: OnError = "local",
        max_guard: float = 1.0,
        jitter_margin: float = 0.05,
        local_share: float = 1.0,
        local_limiter: RateLimiter | None = None,
        retry_interval: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        if (redis is None) == (url is None):
            raise ConfigurationError("RedisRateLimiter needs exactly one of redis= or url=")
        if url is not None:
            scheme = urlsplit(url).scheme
            if scheme not in ("redis", "rediss", "unix"):
                raise ConfigurationError(
                    f"url must start with redis://, rediss:// or unix://, got {scheme or url!r}"
                )
        if on_error not in ("local", "raise"):
            raise ConfigurationError(f"on_error must be 'local' or 'raise', got {on_error!r}")
        if not isinstance(prefix, str):
            raise ConfigurationError("prefix must be a string")
        if not 0 <= jitter_margin < math.inf:
            raise ConfigurationError(f"jitter_margin must be 0 or more, got {jitter_margin!r}")
        if not 0 <= max_guard < math.inf:
            raise ConfigurationError(f"max_guard must be 0 or more, got {max_guard!r}")
        if not 0 < local_share <= 1:
            raise ConfigurationError(f"local_share must be in (0, 1], got {local_share!r}")
        if not retry_interval > 0:
            raise ConfigurationError(f"retry_interval must be positive, got {retry_interval!r}")
        self._redis: Redis | None = redis
        self._script: AsyncScript | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._url = url
        self._redis_options = dict(redis_options or {})
        self.prefix = prefix
        self.on_error: OnError = on_error
        self.max_guard = float(max_guard)
        self.jitter_margin = float(jitter_margin)
        self._guard_us = math.ceil(self.max_guard * 1e6)
        self._held_us = self._guard_us + math.ceil(self.jitter_margin * 1e6)
        self.local_share = float(local_share)
        self.local: RateLimiter = local_limiter or InProcessRateLimiter(clock)
        self.retry_interval = float(retry_interval)
        self.clock = clock
        self._id = secrets.token_hex(6)
        self._seq = itertools.count()
        self._down_since: float | None = None
        self._next_probe = 0.0
        self._pending: set[asyncio.Task[None]] = set()
        # Reports waiting to ride along with the next step on their key, by log key.
        self._reports: dict[str, tuple[list[str], list[_Report]]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._flush_delay = _FLUSH_DELAY if clock is None else 0.0
        # The worker's own clock, for durations only (how long ago something happened).
        self._local: Callable[[], float] = time.monotonic if clock is None else clock.now
        self._warned_expired = -math.inf
        # What the steps answered, for the benchmark: {"granted": n, "slot": n, "full": n, ...}
        self._counts: dict[str, int] = {}
        self._lease_script: AsyncScript | None = None
        self._lease_redis: Redis | None = None
        self._lease_wakers: dict[str, asyncio.Event] = {}
        #: longest pause between two looks of a lease waiter at Redis (seconds)
        self.lease_poll = 0.25

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        on_error: OnError = "local",
        max_guard: float = 1.0,
        jitter_margin: float = 0.05,
        local_share: float = 1.0,
        local_limiter: RateLimiter | None = None,
        retry_interval: float = 1.0,
        clock: Clock | None = None,
        socket_timeout: float = 2.0,
        socket_connect_timeout: float = 2.0,
        max_connections: int = 16,
        **redis_options: Any,
    ) -> RedisRateLimiter:
        """A limiter on its own connection pool to ``url``; close it with :meth:`aclose` (or
        ``async with``). Every Redis command is bounded by ``socket_timeout``, connecting by
        ``socket_connect_timeout``, and waiting for one of the ``max_connections`` connections
        by their sum (seconds); a failed command is tried once more on a fresh connection (a
        restarted Redis drops the old ones). The defaults leave room for a busy event loop,
        which must not pass for an outage. Other keyword arguments go to
        ``redis.asyncio.BlockingConnectionPool.from_url``. The URL may carry a password; it is
        never logged."""
        _require_redis()
        options = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_connect_timeout,
            "max_connections": max_connections,
            "timeout": socket_timeout + socket_connect_timeout,
            **redis_options,
        }
        return cls(
            url=url,
            redis_options=options,
            prefix=prefix,
            on_error=on_error,
            max_guard=max_guard,
            jitter_margin=jitter_margin,
            local_share=local_share,
            local_limiter=local_limiter,
            retry_interval=retry_interval,
            clock=clock,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RedisRateLimiter | None:
        """The limiter configured by ``OZON_RATE_LIMIT_REDIS_URL`` (with
        ``OZON_RATE_LIMIT_REDIS_PREFIX`` and ``OZON_RATE_LIMIT_REDIS_ON_ERROR``), or ``None``
        when the URL is not set."""
        env = os.environ if environ is None else environ
        url = env.get(ENV_URL, "").strip()
        if not url:
            return None
        on_error = env.get(ENV_ON_ERROR, "").strip() or "local"
        if on_error not in ("local", "raise"):
            raise ConfigurationError(f"{ENV_ON_ERROR} must be 'local' or 'raise', got {on_error!r}")
        try:
            return cls.from_url(
                url,
                prefix=env.get(ENV_PREFIX) or DEFAULT_PREFIX,
                on_error="raise" if on_error == "raise" else "local",
            )
        except ConfigurationError as exc:
            raise ConfigurationError(f"{ENV_URL}: {exc}") from exc

    def __repr__(self) -> str:
        where = _where(self._url) if self._url is not None else "a given Redis client"
        return f"RedisRateLimiter({where}, prefix={self.prefix!r}, on_error={self.on_error!r})"

    async def __aenter__(self) -> RedisRateLimiter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Send the reports still waiting, wait for slots being given back, then close the
        connections the limiter opened."""
        for log in list(self._reports):
            self._flush(log)
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._url is not None and self._redis is not None:
            redis, self._redis, self._script = self._redis, None, None
            await redis.aclose()

    # ------------------------------------------------------------------ state
    @property
    def available(self) -> bool:
        """``False`` while the limiter cannot reach Redis (the outage policy applies)."""
        return self._down_since is None

    def _key(self, key: str, kind: str) -> str:
        # The braces are a cluster hash tag: both keys of one limit live in the same slot.
        return f"{self.prefix}{{{key}}}:{kind}"

    def _connection(self) -> AsyncScript:
        loop = asyncio.get_running_loop()
        if self._url is not None and (self._redis is None or self._loop is not loop):
            from redis.asyncio import BlockingConnectionPool, Redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            options = {"retry": Retry(NoBackoff(), 1), **self._redis_options}
            pool = BlockingConnectionPool.from_url(self._url, **options)
            self._redis = Redis.from_pool(pool)
            self._loop = loop
            self._script = None
        if self._script is None:
            assert self._redis is not None
            self._script = self._redis.register_script(_LUA)
        return self._script

    async def _step(
        self,
        op: str,
        keys: list[str],
        *,
        interval: int = 0,
        period: int = 0,
        size: int = 0,
        slot: int = 0,
        member: str = "",
        hold: int = 0,
        requests: float = 1.0,
        reports: list[_Report] | None = None,
    ) -> tuple[int, int, int]:
        """One run of the script (times in microseconds). The reports waiting for ``keys``
        ride along (or ``reports``, for a flush)."""
        now: str
        min_ttl: int
        if self.clock is None:
            now, min_ttl = "", 0
        else:
            now, min_ttl = str(round(self.clock.now() * 1e6)), _INJECTED_CLOCK_TTL_MS
        args: list[str | int | float] = [
            op,
            now,
            interval,
            period,
            size,
            member,
            slot,
            min_ttl,
            hold,
            requests,
        ]
        if reports is None:
            reports = self._take_reports(keys[1])
        if reports:
            at = self._local()
            for m, kind, when, extra, took in reports:
                args += (m, kind, max(0, math.ceil((at - when) * 1e6)), extra, took)
        try:
            reply = await self._connection()(keys=keys, args=args)
        except _redis_errors() as exc:
            raise _Unavailable() from exc
        if reply[3]:
            self._expired(int(reply[3]))
        code = int(reply[0])
        counts = self._counts
        counts[op] = counts.get(op, 0) + 1
        if code:
            name = "slot" if code == _SLOT else "full"
            counts[name] = counts.get(name, 0) + 1
        return code, int(reply[1]), int(reply[2])

    # ------------------------------------------------------------------ reports
    def _report(
        self, keys: list[str], report: _Report, urgent: bool = False
    ) -> asyncio.Task[None] | None:
        """Queue what a worker says about a slot; it rides along with the next step on the
        key, or goes within ``_FLUSH_DELAY`` (at once when ``urgent``). Returns the task that
        sends it when it went at once."""
        log = keys[1]
        entry = self._reports.get(log)
        if entry is None:
            entry = self._reports[log] = (keys, [])
        entry[1].append(report)
        if urgent or not self._flush_delay:
            return self._flush(log)
        if log not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[log] = loop.call_later(self._flush_delay, self._flush, log)
        return None

    def _take_reports(self, log: str) -> list[_Report] | None:
        timer = self._timers.pop(log, None)
        if timer is not None:
            timer.cancel()
        entry = self._reports.pop(log, None)
        return entry[1] if entry is not None else None

    def _flush(self, log: str) -> asyncio.Task[None] | None:
        """Send the reports waiting for ``log`` in a step of their own."""
        keys = self._reports[log][0] if log in self._reports else None
        reports = self._take_reports(log)
        if keys is None or not reports:
            return None

        async def send() -> None:
            # Lost reports leave slots counting until their logged release: safe, and the
            # limiter notices the outage at its next grant.
            with contextlib.suppress(_Unavailable):
                await self._step("update", keys, reports=reports)

        task = asyncio.ensure_future(send())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    def _expired(self, count: int) -> None:
        now = time.monotonic()
        if now - self._warned_expired >= 60.0:
            self._warned_expired = now
            logger.warning(
                "rate limiter: %d request(s) went out after their slot had stopped counting "
                "(the worker was stalled for longer than period + max_guard + jitter_margin "
                "between grant and send); Ozon may have seen more than the limit",
                count,
            )

    async def _sleep(self, seconds: float) -> None:
        if self.clock is None:
            await asyncio.sleep(seconds)
        else:
            await self.clock.sleep(seconds)

    def _skip_redis(self) -> bool:
        """During an outage, only one call per ``retry_interval`` tries Redis again."""
        if self._down_since is None:
            return False
        now = time.monotonic()
        if now < self._next_probe:
            return True
        self._next_probe = now + self.retry_interval
        return False

    def _went_down(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._next_probe = now + self.retry_interval
        if self._down_since is not None:
            return
        self._down_since = now
        then = (
            "pacing in this process only"
            if self.on_error == "local"
            else "raising RateLimiterUnavailableError"
        )
        logger.warning(
            "rate limiter: Redis at %s is unavailable (%s: %s); %s until it answers again",
            self._describe(),
            type(exc).__name__,
            exc,
            then,
        )

    def _came_back(self) -> None:
        if self._down_since is not None:
            logger.info(
                "rate limiter: Redis at %s answers again after %.1f s; shared limits resumed",
                self._describe(),
                time.monotonic() - self._down_since,
            )
            self._down_since = None

    def _describe(self) -> str:
        if self._url is not None:
            return _where(self._url)
        try:
            kw = self._redis.connection_pool.connection_kwargs if self._redis else {}
        except AttributeError:
            kw = {}
        if "path" in kw:
            return f"unix://{kw['path']}"
        return f"{kw.get('host', '?')}:{kw.get('port', '?')}"

    def _unavailable(self, exc: BaseException | None) -> RateLimiterUnavailableError:
        since = (
            f" for {time.monotonic() - self._down_since:.1f} s"
            if self._down_since is not None
            else ""
        )
        cause = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
        return RateLimiterUnavailableError(
            f"the rate limiter's Redis at {self._describe()} is unavailable{since}{cause}; "
            "nothing was sent"
        )

    # ------------------------------------------------------------------ RateLimiter
    async def acquire(self, key: str, requests: float, period: float) -> None:
        await self._paced(key, requests, period, held=False)

    async def acquire_slot(self, key: str, requests: float, period: float) -> RateLimitSlot | None:
        return await self._paced(key, requests, period, held=True)

    async def _paced(
        self, key: str, requests: float, period: float, *, held: bool
    ) -> RateLimitSlot | None:
        if not requests > 0:
            raise ValueError(f"requests must be positive, got {requests!r}")
        if not period > 0:
            raise ValueError(f"period must be positive, got {period!r}")
        if self._skip_redis():
            if self.on_error == "raise":
                raise self._unavailable(None)
            return await self._local_paced(key, requests, period, held)
        try:
            slot = await self._acquire_shared(key, requests, period, held)
        except _Unavailable as failure:
            exc = failure.__cause__ or failure
            self._went_down(exc)
            if self.on_error == "raise":
                raise self._unavailable(exc) from exc
            return await self._local_paced(key, requests, period, held)
        self._came_back()
        return slot

    async def _local_paced(
        self, key: str, requests: float, period: float, held: bool
    ) -> RateLimitSlot | None:
        rate = requests * self.local_share
        if held:
            return await self.local.acquire_slot(key, rate, period)
        await self.local.acquire(key, rate, period)
        return None

    async def _acquire_shared(
        self, key: str, requests: float, period: float, held: bool
    ) -> _SharedSlot | None:
        size = max(1, math.floor(requests))  # grants that may count at once
        margin = self.jitter_margin
        interval = math.ceil((period + margin) * 1e6 / requests)
        period_us = math.ceil(period * 1e6)
        margin_us = math.ceil(margin * 1e6)
        # A held slot is logged for the longest it may count: sent up to `margin` after the
        # grant, reaching Ozon up to max_guard after that (its reports bring it forward).
        hold = self._held_us if held else margin_us
        keys = [self._key(key, "pace"), self._key(key, "log")]
        member = self._member()
        op, refreshes = "take", 0
        while True:
            asked = self._local()
            try:
                code, wait, slot = await self._step(
                    op,
                    keys,
                    interval=interval,
                    period=period_us,
                    size=size,
                    member=member,
                    hold=hold,
                    requests=requests,
                )
            except asyncio.CancelledError:
                self._drop(keys, member)  # granted as it was cancelled, maybe: nothing was sent
                raise
            if code == _GRANTED:
                if held:
                    return _SharedSlot(self, keys, member, asked, period_us)
                if self._local() - asked <= max(0.002, margin / 4) or refreshes == _MAX_REFRESHES:
                    return None
                # The answer reached this task late (a busy event loop, a stalled process):
                # the request would leave later than the grant Redis recorded, bunched with
                # others. Record it again at the present time.
                op, refreshes = "refresh", refreshes + 1
                continue
            if code == _FULL and wait > period_us // 2:
                # The log is full for long: this caller woke with a backlog (its process
                # stalled) or the grants hold longer than pacing allows for (slow answers).
                # Queue for a new slot rather than have every caller of the backlog wait for
                # the same moment and race for it. A shorter wait (grants bunched by a busy
                # event loop) is waited out: the caller keeps its turn and the room it waits
                # for is used as soon as it comes.
                op = "take"
                continue
            try:
                await self._sleep(wait / 1e6)
            except asyncio.CancelledError:
                if code == _SLOT:
                    await self._give_back(keys, interval, slot, requests)
                raise
            op = "commit"

    async def acquire_lease(
        self, key: str, limit: int, ttl: float, *, timeout: float | None = None
    ) -> Lease:
        """A lease shared by every process on this Redis (see the module's docstring); during an
        outage the ``on_error`` policy applies (``"local"``: leases of this process only)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        if not (ttl > 0 and math.isfinite(ttl)):
            raise ValueError(f"ttl must be positive, got {ttl!r}")
        loop_time = self.clock.now if self.clock is not None else time.monotonic
        deadline = None if timeout is None else loop_time() + timeout
        member = self._member()
        while True:
            if self._skip_redis():
                if self.on_error == "raise":
                    raise self._unavailable(None)
                left = None if deadline is None else max(0.0, deadline - loop_time())
                return await self.local.acquire_lease(key, limit, ttl, timeout=left)
            try:
                code, wait_us = await self._lease_step("take", key, member, limit, ttl)
            except _Unavailable as failure:
                exc = failure.__cause__ or failure
                self._went_down(exc)
                if self.on_error == "raise":
                    raise self._unavailable(exc) from exc
                left = None if deadline is None else max(0.0, deadline - loop_time())
                return await self.local.acquire_lease(key, limit, ttl, timeout=left)
            self._came_back()
            if code == _GRANTED:
                return _RedisLease(self, key, member, ttl)
            delay = min(wait_us / 1e6, self.lease_poll)
            if deadline is not None:
                left = deadline - loop_time()
                if left <= 0:
                    raise TimeoutError(f"no lease of {key!r} within {timeout:g} s")
                delay = min(delay, left)
            waker = self._lease_wakers.setdefault(key, asyncio.Event())
            waker.clear()
            from ozon_async._ratelimit import first_of

            await first_of(waker.wait(), self._sleep(max(delay, 0.001)))

    async def _lease_step(
        self, op: str, key: str, member: str, limit: int, ttl: float
    ) -> tuple[int, int]:
        if self.clock is None:
            now, min_ttl = "", 0
        else:
            now, min_ttl = str(round(self.clock.now() * 1e6)), _INJECTED_CLOCK_TTL_MS
        self._connection()  # (re)connects on a new event loop
        if self._lease_script is None or self._lease_redis is not self._redis:
            assert self._redis is not None
            self._lease_script = self._redis.register_script(_LEASE_LUA)
            self._lease_redis = self._redis
        args: list[str | int] = [op, now, member, limit, math.ceil(ttl * 1e6), min_ttl]
        try:
            reply = await self._lease_script(keys=[self._key(key, "lease")], args=args)
        except _redis_errors() as exc:
            raise _Unavailable() from exc
        return int(reply[0]), int(reply[1])

    def _lease_released(self, key: str) -> None:
        """Wake this process's waiters for ``key`` (others notice within ``lease_poll``)."""
        waker = self._lease_wakers.get(key)
        if waker is not None:
            waker.set()

    def _member(self) -> str:
        return f"{self._id}:{next(self._seq)}"

    def _drop(self, keys: list[str], member: str) -> None:
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to send it with
            self._report(keys, (member, "d", self._local(), 0, 0), urgent=True)

    async def _give_back(self, keys: list[str], interval: int, slot: int, requests: float) -> None:
        """Hand a reserved slot back; it finishes even if the caller is cancelled again."""

        async def give() -> None:
            with contextlib.suppress(_Unavailable):
                await self._step("give", keys, interval=interval, slot=slot, requests=requests)

        task = asyncio.ensure_future(give())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)

    async def acquire_window(
        self, key: str, limit: int, period: float, *, wait: bool = True
    ) -> float:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, got {limit!r}")
        if not period > 0:
            raise ValueError(f"period must be positive, got {period!r}")
        margin = self.jitter_margin
        if self._skip_redis():
            if self.on_error == "raise":
                raise self._unavailable(None)
            return await self.local.acquire_window(key, limit, period + margin, wait=wait)
        keys = [self._key(key, "pace"), self._key(key, "window")]
        member = self._member()
        op, refreshes = "commit", 0
        while True:
            asked = self._local()
            try:
                code, delay, _ = await self._step(
                    op,
                    keys,
                    period=math.ceil(period * 1e6),
                    size=limit,
                    member=member,
                    hold=math.ceil(margin * 1e6),
                )
            except _Unavailable as failure:
                exc = failure.__cause__ or failure
                self._went_down(exc)
                if self.on_error == "raise":
                    raise self._unavailable(exc) from exc
                return await self.local.acquire_window(key, limit, period + margin, wait=wait)
            except asyncio.CancelledError:
                self._drop(keys, member)
                raise
            self._came_back()
            if code == _GRANTED:
                if self._local() - asked <= max(0.002, margin / 4) or refreshes == _MAX_REFRESHES:
                    return 0.0
                op, refreshes = "refresh", refreshes + 1  # as in acquire: re-date a late grant
                continue
            op = "commit"
            if not wait:
                return delay / 1e6
            await self._sleep(delay / 1e6)


def _require_redis() -> None:
    try:
        import redis.asyncio  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(
            "RedisRateLimiter needs the redis package: pip install 'ozon-async[redis]'"
        ) from exc
