"""Where the receiver keeps notifications until every handler has run: the store interface and the
default store, an SQLite file in WAL mode.

The receiver answers Ozon only after :meth:`PushStore.add` returned, so an event is either stored
(and will be handled, after a crash too) or refused with an error (and Ozon sends it again).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import msgspec

__all__ = ["PushStore", "SQLiteStore", "StoredEvent"]

T = TypeVar("T")


class StoredEvent(msgspec.Struct, frozen=True):
    """A stored notification waiting for (or done with) its handlers."""

    id: str
    """The store's identifier of the entry."""
    key: str
    """The de-duplication key (see :func:`ozon_async.push.read_body`)."""
    message_type: str
    body: bytes
    """The body as Ozon sent it."""
    received_at: float
    """When the receiver stored it (epoch seconds)."""
    attempts: int = 0
    """Earlier runs in which a handler failed."""
    done: frozenset[str] = frozenset()
    """Names of the handlers that already succeeded (they do not run again)."""
    error: str | None = None
    """The last handler error."""


class PushStore(Protocol):
    """What the receiver and its dispatcher need from a store. :class:`SQLiteStore` (one process)
    and :class:`~ozon_async.push.RedisStore` (several receivers) implement it.

    ``poll_interval`` is how often the dispatcher looks for events it was not told about (events
    other processes stored, retries that came due); ``None`` when only this process adds events.
    """

    poll_interval: float | None

    async def open(self) -> None:
        """Connect and create what is missing."""
        ...

    async def close(self) -> None:
        """Release connections; stored events stay."""
        ...

    async def add(self, key: str, message_type: str, body: bytes, received_at: float) -> bool:
        """Store an event durably; ``False`` (and nothing stored) when ``key`` is already known."""
        ...

    async def claim(self, now: float, limit: int) -> list[StoredEvent]:
        """Up to ``limit`` events due by ``now`` that no dispatcher is running; they stay claimed
        by this one until :meth:`complete`, :meth:`retry` or :meth:`give_up`."""
        ...

    async def next_due(self) -> float | None:
        """When the earliest unclaimed pending event is due (epoch seconds), or ``None``."""
        ...

    async def complete(self, event: StoredEvent, now: float) -> None:
        """Every handler succeeded."""
        ...

    async def retry(
        self, event: StoredEvent, *, done: frozenset[str], next_at: float, error: str
    ) -> None:
        """A handler failed: run the others than ``done`` again at ``next_at``."""
        ...

    async def give_up(
        self, event: StoredEvent, *, done: frozenset[str], error: str, now: float
    ) -> None:
        """Keep the event as failed (see :meth:`failed`, :meth:`requeue_failed`)."""
        ...

    async def failed(self) -> list[StoredEvent]:
        """The events handlers gave up on."""
        ...

    async def requeue_failed(self, now: float) -> int:
        """Make every failed event pending again; returns how many."""
        ...

    async def counts(self) -> dict[str, int]:
        """``pending`` (incl. running and waiting for a retry), ``failed`` and, where the store
        keeps them, ``handled`` events."""
        ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS push_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    message_type TEXT NOT NULL,
    body BLOB NOT NULL,
    received_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    done_handlers TEXT NOT NULL DEFAULT '',
    error TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS push_events_due ON push_events (state, next_at);
CREATE INDEX IF NOT EXISTS push_events_finished ON push_events (state, finished_at);
"""
_COLUMNS = "id, key, message_type, body, received_at, attempts, done_handlers, error"


def _row(r: tuple[Any, ...]) -> StoredEvent:
    return StoredEvent(
        id=str(r[0]),
        key=r[1],
        message_type=r[2],
        body=bytes(r[3]),
        received_at=r[4],
        attempts=r[5],
        done=frozenset(n for n in r[6].split("\n") if n),
        error=r[7],
    )


def _names(done: frozenset[str]) -> str:
    return "\n".join(sorted(done))


class SQLiteStore:
    """Events in an SQLite file (WAL mode), for one receiver process.

    An event is acknowledged after its transaction committed with ``synchronous`` (default
    ``"FULL"``: the write-ahead log is synced to disk at each commit, so a power cut loses nothing
    acknowledged; ``"NORMAL"`` survives a crash of the process but not of the machine). Events
    arriving together share one commit, so a busy receiver syncs once for many of them. Marks
    that an event was handled are committed without a sync of their own (the next new event's
    commit syncs them): a power cut can make a handler run once more, never lose an event.

    Handled events are kept ``retention`` seconds (default 7 days) to recognise late resends,
    then deleted. Several processes must not share a file (use
    :class:`~ozon_async.push.RedisStore` behind a load balancer).

    Args:
        path: the database file (created with its directory's permissions).
        synchronous: SQLite's ``synchronous`` setting, ``"FULL"`` or ``"NORMAL"``.
        retention: seconds a handled event is remembered.
    """

    poll_interval: float | None = None

    def __init__(
        self,
        path: str | os.PathLike[str] = "ozon-push.sqlite3",
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        retention: float = 7 * 86400.0,
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError("synchronous must be 'FULL' or 'NORMAL'")
        if retention <= 0:
            raise ValueError("retention must be positive")
        self.path = Path(path)
        self.synchronous = synchronous
        self.retention = retention
        self._db: sqlite3.Connection | None = None  # the writer, in the executor's thread
        self._reader: sqlite3.Connection | None = None  # claims, in the event loop's thread
        self._executor: ThreadPoolExecutor | None = None
        self._claimed: set[str] = set()
        self._queue: list[tuple[str, tuple[Any, ...], bool, asyncio.Future[int]]] = []
        self._sync: str = synchronous
        self._flusher: asyncio.Task[None] | None = None
        self._pruned_at = 0.0

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError("the store is not open")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # ------------------------------------------------------------------ lifecycle
    async def open(self) -> None:
        if self._executor is not None:
            return
        # one thread owns the connection: every statement runs there, in order
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="ozon-push-sqlite")
        try:
            await self._run(self._open_sync)
            # claims read on the event loop's own thread (a short indexed query; WAL readers
            # never wait for the writer), so that only writes pay for a trip to the thread
            reader = sqlite3.connect(self.path, isolation_level=None)
            reader.execute("PRAGMA query_only=1")
            self._reader = reader
        except BaseException:
            await self._run(self._close_sync)
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    def _open_sync(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise OSError(f"{self.path}: SQLite cannot use WAL mode here (got {mode!r})")
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            db.execute("PRAGMA busy_timeout=5000")
            db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        self._db = db

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        try:
            await self._run(self._close_sync)
        finally:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            self._executor.shutdown(wait=True)
            self._executor = None
            self._claimed.clear()

    def _close_sync(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the store is not open")
        return self._db

    # ------------------------------------------------------------------ writes (group commit)
    def _read(self) -> sqlite3.Connection:
        if self._reader is None:
            raise RuntimeError("the store is not open")
        return self._reader

    async def _write(self, sql: str, args: tuple[Any, ...], durable: bool = False) -> int:
        """Run a write in the next transaction; writes queued while a commit runs share the next
        one (one sync to disk for all of them). A transaction with a ``durable`` write (a new
        event) commits with ``synchronous``; one with only marks of handled, retried or failed
        events commits without its own sync (the next durable commit syncs it too). Returns the
        statement's row count."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        self._queue.append((sql, args, durable, fut))
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush())
        return await fut

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                durable = any(d for _, _, d, _ in batch)
                try:
                    counts = await self._run(
                        self._apply, [(sql, args) for sql, args, _, _ in batch], durable
                    )
                except BaseException as exc:  # every write of the batch failed (rolled back)
                    for *_, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                    if isinstance(exc, asyncio.CancelledError):
                        raise
                    continue
                for (*_, fut), n in zip(batch, counts, strict=True):
                    if not fut.done():
                        fut.set_result(n)
        finally:
            self._flusher = None

    def _apply(self, writes: list[tuple[str, tuple[Any, ...]]], durable: bool) -> list[int]:
        db = self._conn()
        sync = self.synchronous if durable else "NORMAL"
        if sync != self._sync:
            db.execute(f"PRAGMA synchronous={sync}")
            self._sync = sync
        db.execute("BEGIN IMMEDIATE")
        try:
            counts = [int(db.execute(sql, args).rowcount) for sql, args in writes]
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return counts

    async def add(self, key: str, message_type: str, body: bytes, received_at: float) -> bool:
        n = await self._write(
            "INSERT INTO push_events (key, message_type, body, received_at, next_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING",
            (key, message_type, body, received_at, received_at),
            durable=True,
        )
        return n == 1

    # ------------------------------------------------------------------ handling
    async def claim(self, now: float, limit: int) -> list[StoredEvent]:
        if limit <= 0:
            return []
        rows = self._due(now, limit + len(self._claimed))
        out = []
        for r in rows:
            ev = _row(r)
            if ev.id in self._claimed:
                continue
            self._claimed.add(ev.id)
            out.append(ev)
            if len(out) == limit:
                break
        return out

    def _due(self, now: float, limit: int) -> list[tuple[Any, ...]]:
        return (
            self._read()
            .execute(
                f"SELECT {_COLUMNS} FROM push_events WHERE state = 'pending' AND next_at <= ? "
                "ORDER BY next_at, id LIMIT ?",
                (now, limit),
            )
            .fetchall()
        )

    async def next_due(self) -> float | None:
        rows = self._next(len(self._claimed) + 1)
        for ident, at in rows:
            if str(ident) not in self._claimed:
                return float(at)
        return None

    def _next(self, limit: int) -> list[tuple[Any, ...]]:
        return (
            self._read()
            .execute(
                "SELECT id, next_at FROM push_events WHERE state = 'pending' "
                "ORDER BY next_at, id LIMIT ?",
                (limit,),
            )
            .fetchall()
        )

    async def complete(self, event: StoredEvent, now: float) -> None:
        try:
            await self._write(
                "UPDATE push_events SET state = 'done', finished_at = ?, error = NULL WHERE id = ?",
                (now, int(event.id)),
            )
        finally:
            self._claimed.discard(event.id)
        if now - self._pruned_at > 60.0:  # forget handled events older than the retention
            self._pruned_at = now
            await self._write(
                "DELETE FROM push_events WHERE state = 'done' AND finished_at < ?",
                (now - self.retention,),
            )

    async def retry(
        self, event: StoredEvent, *, done: frozenset[str], next_at: float, error: str
    ) -> None:
        try:
            await self._write(
                "UPDATE push_events SET attempts = attempts + 1, next_at = ?, done_handlers = ?, "
                "error = ? WHERE id = ?",
                (next_at, _names(done), error, int(event.id)),
            )
        finally:
            self._claimed.discard(event.id)

    async def give_up(
        self, event: StoredEvent, *, done: frozenset[str], error: str, now: float
    ) -> None:
        try:
            await self._write(
                "UPDATE push_events SET state = 'failed', attempts = attempts + 1, "
                "done_handlers = ?, error = ?, finished_at = ? WHERE id = ?",
                (_names(done), error, now, int(event.id)),
            )
        finally:
            self._claimed.discard(event.id)

    async def failed(self) -> list[StoredEvent]:
        rows = await self._run(
            lambda: (
                self._conn()
                .execute(f"SELECT {_COLUMNS} FROM push_events WHERE state = 'failed' ORDER BY id")
                .fetchall()
            )
        )
        return [_row(r) for r in rows]

    async def requeue_failed(self, now: float) -> int:
        return await self._write(
            "UPDATE push_events SET state = 'pending', next_at = ?, finished_at = NULL "
            "WHERE state = 'failed'",
            (now,),
        )

    async def counts(self) -> dict[str, int]:
        rows = await self._run(
            lambda: (
                self._conn()
                .execute("SELECT state, COUNT(*) FROM push_events GROUP BY state")
                .fetchall()
            )
        )
        found = {state: int(n) for state, n in rows}
        return {
            "pending": found.get("pending", 0),
            "failed": found.get("failed", 0),
            "handled": found.get("done", 0),
        }
