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

How it decides (one Lua script, one atomic step per round trip, times in microseconds from
Redis ``TIME`` so that machines with skewed clocks share one budget):

* ``acquire`` paces evenly (GCRA): a key remembers the time of its next free slot; a caller takes
  it, moves it on by one interval, and sleeps until its slot. When the slot comes, a second step
  records the grant in a log (a sorted set) unless ``requests`` grants there may still reach
  Ozon within ``period`` of now; then the caller waits for the one in the way to leave. Even
  spacing stops bursts; the log (the window guard) stops a process that stalled and wakes late
  from adding its backlog on top of the others' on-time requests.
* Each grant is logged as reaching Ozon at the latest ``jitter_margin`` after it (a request is
  sent right after its grant, but an event loop or a network is not punctual), and counts until
  ``period`` after that; slots are ``(period + jitter_margin) / requests`` apart. So as long as
  requests arrive no more than ``jitter_margin`` late relative to each other, Ozon never sees
  more than ``requests`` in any ``period``: 50 rps with the default 0.05 s is paced at 47.6 rps.
  A grant whose answer reached its caller later than a quarter of the margin (a busy event loop) is
  logged again at the present time.
* ``acquire_window`` is the same log alone, for per-item rules (one stock update per offer and
  warehouse per 30 s, 10 price updates per product per hour): at most ``limit`` grants that may
  arrive within any ``period``.
* A caller cancelled while it waits for its slot gives the slot back (the next free slot moves
  back by one interval). Keys expire on their own once idle (``PEXPIRE``).

``acquire_lease`` (an account's turn to run an export, when Ozon allows one at a time) keeps the
holders of a key in a sorted set scored by when each lease lapses: a caller takes a place when
fewer than ``limit`` unlapsed leases are held, renews its lease while it works and removes it when
done. Waiters in this process are woken as soon as one of them releases; others look again at
least every ``lease_poll`` seconds and at the moment the first lease would lapse.

When Redis cannot be reached (refused, timed out, failing), ``on_error`` decides: ``"local"``
(default) paces in this process with an :class:`~ozon_async.InProcessRateLimiter` and logs one
WARNING per outage; ``"raise"`` raises :class:`~ozon_async.RateLimiterUnavailableError`. During
an outage Redis is tried again at most once per ``retry_interval`` seconds, and shared pacing
resumes as soon as it answers.
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
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from ozon_async._clock import Clock
from ozon_async._exceptions import ConfigurationError, RateLimiterUnavailableError
from ozon_async._ratelimit import InProcessRateLimiter, Lease, RateLimiter

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
# KEYS[1]: the pacing key, holding the time of the next free slot.
# KEYS[2]: the window log, a sorted set of grants scored by the latest time each may reach
#          Ozon (grant time + its margin), so a grant counts until `period` after that.
# ARGV: op, now ('' takes Redis TIME), interval, period, size, member, slot, min_ttl (ms; keys
# live at least this long, for injected clocks whose time does not run with Redis's), margin
# (of this grant), keep (the largest margin in use, for the log's expiry).
#   take    reserve the next evenly paced slot; if it is due now, go on as commit.
#   commit  grant if fewer than `size` grants may still arrive within `period` of now, else
#           say how long until the one in the way leaves.
#   give    a caller cancelled before its slot gives it back.
#   refresh re-date a grant whose reply reached the caller late: drop it (member), then commit.
# Reply {code, wait, slot}: code 0 granted; 1 sleep `wait` until `slot`, then commit;
# 2 the window is full: sleep `wait`, then commit again.
_LUA = """
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[2])
end
local op = ARGV[1]
local interval = tonumber(ARGV[3])
local min_ttl = tonumber(ARGV[8])
local function ttl(us)
  return math.max(math.ceil(us / 1000) + 1, min_ttl)
end
if op == 'give' then
  local slot = tonumber(ARGV[7])
  local tat = tonumber(redis.call('GET', KEYS[1]))
  if tat and slot > now then
    tat = tat - interval
    if tat > now then
      redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', ttl(tat - now))
    else
      redis.call('DEL', KEYS[1])
    end
  end
  return {0, 0, 0}
end
if op == 'take' then
  local slot = now
  local tat = tonumber(redis.call('GET', KEYS[1]))
  if tat and tat > now then
    slot = tat
  end
  local nxt = slot + interval
  redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', ttl(nxt - now))
  if slot > now then
    return {1, slot - now, slot}
  end
end
if op == 'refresh' then
  redis.call('ZREM', KEYS[2], ARGV[6])
end
local period = tonumber(ARGV[4])
local size = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - period)
local n = redis.call('ZCARD', KEYS[2])
if n < size then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[9]), ARGV[6])
  redis.call('PEXPIRE', KEYS[2], ttl(period + tonumber(ARGV[10])))
  return {0, 0, 0}
end
local due = redis.call('ZRANGE', KEYS[2], n - size, n - size, 'WITHSCORES')
return {2, tonumber(due[2]) + period - now, 0}
"""

_GRANTED, _SLOT, _FULL = 0, 1, 2
# A grant whose answer took longer than a quarter of its margin to reach the caller is recorded again
# at the present time, at most _MAX_REFRESHES times per acquire.
_MAX_REFRESHES = 3
# With an injected clock, time in Redis does not pass with the keys' time: keep keys a day.
_INJECTED_CLOCK_TTL_MS = 86_400_000


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
        jitter_margin: seconds by which a request may reach Ozon later than its grant with
            the limit still kept (default 0.05). Each grant counts against its limit until
            ``period`` after the latest time it may arrive, and pacing spaces grants by
            ``(period + margin) / requests``: 50 rps becomes 47.6 rps.
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
        if not jitter_margin >= 0:
            raise ConfigurationError(f"jitter_margin must be 0 or more, got {jitter_margin!r}")
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
        self.jitter_margin = float(jitter_margin)
        self.local_share = float(local_share)
        self.local: RateLimiter = local_limiter or InProcessRateLimiter(clock)
        self.retry_interval = float(retry_interval)
        self.clock = clock
        self._id = secrets.token_hex(6)
        self._seq = itertools.count()
        self._down_since: float | None = None
        self._next_probe = 0.0
        self._pending: set[asyncio.Task[None]] = set()
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
        """Wait for slots being given back, then close the connections the limiter opened."""
        if self._pending:
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
        margin: int = 0,
    ) -> tuple[int, int, int]:
        """One run of the script (times in microseconds)."""
        now: str
        min_ttl: int
        if self.clock is None:
            now, min_ttl = "", 0
        else:
            now, min_ttl = str(round(self.clock.now() * 1e6)), _INJECTED_CLOCK_TTL_MS
        args: list[str | int] = [op, now, interval, period, size, member, slot, min_ttl, margin]
        args.append(margin)
        try:
            reply = await self._connection()(keys=keys, args=args)
        except _redis_errors() as exc:
            raise _Unavailable() from exc
        return int(reply[0]), int(reply[1]), int(reply[2])

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
        if not requests > 0:
            raise ValueError(f"requests must be positive, got {requests!r}")
        if not period > 0:
            raise ValueError(f"period must be positive, got {period!r}")
        if self._skip_redis():
            if self.on_error == "raise":
                raise self._unavailable(None)
            await self.local.acquire(key, requests * self.local_share, period)
            return
        try:
            await self._acquire_shared(key, requests, period)
        except _Unavailable as failure:
            exc = failure.__cause__ or failure
            self._went_down(exc)
            if self.on_error == "raise":
                raise self._unavailable(exc) from exc
            await self.local.acquire(key, requests * self.local_share, period)
            return
        self._came_back()

    async def _acquire_shared(self, key: str, requests: float, period: float) -> None:
        size = max(1, math.floor(requests))  # grants that may arrive within any `period`
        margin = self.jitter_margin
        interval = math.ceil((period + margin) * 1e6 / requests)
        keys = [self._key(key, "pace"), self._key(key, "log")]
        member = self._member()
        op, refreshes = "take", 0
        while True:
            sent = time.monotonic()
            code, wait, slot = await self._step(
                op,
                keys,
                interval=interval,
                period=math.ceil(period * 1e6),
                size=size,
                member=member,
                margin=math.ceil(margin * 1e6),
            )
            if code == _GRANTED:
                if time.monotonic() - sent <= max(0.002, margin / 4) or refreshes == _MAX_REFRESHES:
                    return
                # The answer reached this task late (a busy event loop, a stalled process):
                # the request would leave later than the grant Redis recorded, bunched with
                # others. Record it again at the present time.
                op, refreshes = "refresh", refreshes + 1
                continue
            if code == _FULL and wait > interval:
                # The window is full for longer than a slot: this caller woke with a backlog
                # (its process stalled). Queue for a new slot rather than have every caller of
                # the backlog wait for the same moment and race for it.
                op = "take"
                continue
            try:
                await self._sleep(wait / 1e6)
            except asyncio.CancelledError:
                if code == _SLOT:
                    await self._give_back(keys, interval, slot)
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

    async def _give_back(self, keys: list[str], interval: int, slot: int) -> None:
        """Hand a reserved slot back; it finishes even if the caller is cancelled again."""

        async def give() -> None:
            with contextlib.suppress(_Unavailable):
                await self._step("give", keys, interval=interval, slot=slot)

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
        if self._skip_redis():
            if self.on_error == "raise":
                raise self._unavailable(None)
            return await self.local.acquire_window(
                key, limit, period + self.jitter_margin, wait=wait
            )
        keys = [self._key(key, "pace"), self._key(key, "window")]
        member = self._member()
        op, refreshes = "commit", 0
        margin = self.jitter_margin
        while True:
            sent = time.monotonic()
            try:
                code, delay, _ = await self._step(
                    op,
                    keys,
                    period=math.ceil(period * 1e6),
                    size=limit,
                    member=member,
                    margin=math.ceil(margin * 1e6),
                )
            except _Unavailable as failure:
                exc = failure.__cause__ or failure
                self._went_down(exc)
                if self.on_error == "raise":
                    raise self._unavailable(exc) from exc
                return await self.local.acquire_window(key, limit, period + margin, wait=wait)
            self._came_back()
            if code == _GRANTED:
                if time.monotonic() - sent <= max(0.002, margin / 4) or refreshes == _MAX_REFRESHES:
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
