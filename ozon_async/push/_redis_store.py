"""A push store in Redis, for several receivers behind a load balancer: events in a stream read
by one consumer group, so each event is handled by one receiver; its de-duplication keys and
retries are shared too. Needs the ``redis`` extra (``pip install 'ozon-async[redis]'``).
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec

from ozon_async.push._store import StoredEvent

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisStore"]

# Store the event unless its key was seen: one atomic step (a crash between the two writes would
# otherwise mark an event as seen that was never stored).
_ADD = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 'r', ARGV[2])
  return 1
end
return 0
"""
# Move the retries that came due back into the stream.
_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'r', member)
  redis.call('ZREM', KEYS[1], member)
end
return #due
"""
_GROUP = "handlers"


class _Record(msgspec.Struct, array_like=True, frozen=True):
    key: str
    message_type: str
    body: bytes
    received_at: float
    attempts: int = 0
    done: list[str] = []
    error: str | None = None


_ENC = msgspec.msgpack.Encoder()
_DEC = msgspec.msgpack.Decoder(_Record)


def _event(entry_id: Any, fields: dict[Any, Any]) -> StoredEvent:
    r = _DEC.decode(fields[b"r"])
    ident = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    return StoredEvent(
        ident, r.key, r.message_type, r.body, r.received_at, r.attempts, frozenset(r.done), r.error
    )


def _record(event: StoredEvent, done: frozenset[str], error: str | None, attempts: int) -> bytes:
    return _ENC.encode(
        _Record(
            event.key,
            event.message_type,
            event.body,
            event.received_at,
            attempts,
            sorted(done),
            error,
        )
    )


class RedisStore:
    """Events in a Redis stream shared by every receiver that uses the same Redis and ``prefix``.

    An event is acknowledged to Ozon once Redis has it; make Redis itself durable to match
    :class:`~ozon_async.push.SQLiteStore` (``appendonly yes`` with ``appendfsync always``, or
    ``everysec`` to lose at most a second on a crash of the Redis machine).

    Each receiver reads as consumer ``consumer`` (default: host name and process id) of one
    consumer group, so every event is handled by one receiver. A receiver restarted under the
    same consumer name takes up the events it was running at once; events a dead consumer held
    are taken over by another after ``claim_after`` seconds. Retries wait in a sorted set until
    due. De-duplication keys expire after ``retention`` seconds (default 7 days).

    Args:
        url: ``redis://host:port/db`` (or ``rediss://``).
        prefix: key prefix; keys are ``{prefix}:...`` (one Redis Cluster slot).
        consumer: this receiver's name in the consumer group.
        claim_after: seconds after which an event another consumer holds is taken over; keep it
            above the handlers' timeout.
        retention: seconds a de-duplication key is kept.
        poll_interval: how often to look for events other receivers stored.
        client: an existing ``redis.asyncio.Redis`` (then ``url`` is not used and the client is
            not closed).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "ozon-push",
        consumer: str | None = None,
        claim_after: float = 300.0,
        retention: float = 7 * 86400.0,
        poll_interval: float = 0.5,
        client: Redis | None = None,
    ) -> None:
        if claim_after <= 0 or retention <= 0 or poll_interval <= 0:
            raise ValueError("claim_after, retention and poll_interval must be positive")
        self.url = url
        self.prefix = prefix
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
        self.claim_after = claim_after
        self.retention = retention
        self.poll_interval: float | None = poll_interval
        self._client = client
        self._own_client = client is None
        self._stream = f"{{{prefix}}}:stream"
        self._retry = f"{{{prefix}}}:retry"
        self._failed = f"{{{prefix}}}:failed"
        self._recovered = False
        self._claimed_at = 0.0
        self._add: Any = None
        self._due: Any = None

    def __repr__(self) -> str:  # the URL without its password
        parts = urlsplit(self.url)
        port = f":{parts.port}" if parts.port else ""
        where = f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"
        return f"RedisStore({where!r}, prefix={self.prefix!r})"

    def _seen(self, key: str) -> str:
        return f"{{{self.prefix}}}:seen:{key}"

    def _redis(self) -> Redis:
        if self._client is None:
            raise RuntimeError("the store is not open")
        return self._client

    async def open(self) -> None:
        if self._client is None:
            from redis.asyncio import Redis

            self._client = Redis.from_url(self.url)
        r = self._redis()
        self._add = r.register_script(_ADD)
        self._due = r.register_script(_DUE)
        try:
            await r.xgroup_create(self._stream, _GROUP, id="0", mkstream=True)
        except Exception as exc:  # the group exists already
            if "BUSYGROUP" not in str(exc):
                raise
        self._recovered = False

    async def close(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    async def add(self, key: str, message_type: str, body: bytes, received_at: float) -> bool:
        record = _ENC.encode(_Record(key, message_type, body, received_at))
        added = await self._add(
            keys=[self._seen(key), self._stream], args=[int(self.retention), record]
        )
        return bool(added)

    async def claim(self, now: float, limit: int) -> list[StoredEvent]:
        if limit <= 0:
            return []
        r = self._redis()
        await self._due(keys=[self._retry, self._stream], args=[repr(now), limit])
        out: list[StoredEvent] = []
        if not self._recovered:
            # what this consumer was running when it stopped
            got: Any = await r.xreadgroup(_GROUP, self.consumer, {self._stream: "0"}, count=limit)
            out += [_event(i, f) for _, entries in got for i, f in entries if f]
            self._recovered = len(out) < limit
        if len(out) < limit and now - self._claimed_at >= self.claim_after / 4:
            self._claimed_at = now
            taken: Any = await r.xautoclaim(
                self._stream,
                _GROUP,
                self.consumer,
                min_idle_time=int(self.claim_after * 1000),
                start_id="0-0",
                count=limit - len(out),
            )
            out += [_event(i, f) for i, f in taken[1] if f]
        if len(out) < limit:
            got = await r.xreadgroup(
                _GROUP, self.consumer, {self._stream: ">"}, count=limit - len(out)
            )
            out += [_event(i, f) for _, entries in got for i, f in entries if f]
        return out

    async def next_due(self) -> float | None:
        first = await self._redis().zrange(self._retry, 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    async def complete(self, event: StoredEvent, now: float) -> None:
        async with self._redis().pipeline(transaction=True) as p:
            p.xack(self._stream, _GROUP, event.id)
            p.xdel(self._stream, event.id)
            await p.execute()

    async def retry(
        self, event: StoredEvent, *, done: frozenset[str], next_at: float, error: str
    ) -> None:
        async with self._redis().pipeline(transaction=True) as p:
            p.xack(self._stream, _GROUP, event.id)
            p.xdel(self._stream, event.id)
            p.zadd(self._retry, {_record(event, done, error, event.attempts + 1): next_at})
            await p.execute()

    async def give_up(
        self, event: StoredEvent, *, done: frozenset[str], error: str, now: float
    ) -> None:
        async with self._redis().pipeline(transaction=True) as p:
            p.xack(self._stream, _GROUP, event.id)
            p.xdel(self._stream, event.id)
            p.hset(self._failed, event.key, _record(event, done, error, event.attempts + 1))
            await p.execute()

    async def failed(self) -> list[StoredEvent]:
        items = await self._redis().hgetall(self._failed)
        return sorted((_event(k, {b"r": v}) for k, v in items.items()), key=lambda e: e.received_at)

    async def requeue_failed(self, now: float) -> int:
        r = self._redis()
        items = await r.hgetall(self._failed)
        for key, value in items.items():
            async with r.pipeline(transaction=True) as p:
                p.xadd(self._stream, {"r": value})
                p.hdel(self._failed, key)
                await p.execute()
        return len(items)

    async def counts(self) -> dict[str, int]:
        r = self._redis()
        async with r.pipeline(transaction=False) as p:
            p.xlen(self._stream)
            p.zcard(self._retry)
            p.hlen(self._failed)
            stream, retry, failed = await p.execute()
        return {"pending": int(stream) + int(retry), "failed": int(failed)}
