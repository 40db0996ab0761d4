"""Ozon push notifications: typed events and a receiver that loses nothing.

::

    from ozon_async.push import PushNewPosting, PushReceiver, PushStateChanged

    receiver = PushReceiver("push.sqlite3")          # or RedisStore("redis://...")

    @receiver.on(PushNewPosting, PushStateChanged)
    async def sync(event: PushNewPosting | PushStateChanged) -> None:
        ...

    await receiver.serve(port=8080)

The event classes are generated from the ``webhooks`` of the spec (``_events.py``); one per
``message_type``, lenient like answers. The receiver answers Ozon only after the event is stored
(SQLite in WAL mode, or a Redis stream for several receivers), recognises an event Ozon sends again,
and runs the handlers from the store with retries. ``python -m ozon_async.push`` runs one from the
shell. Not imported by ``import ozon_async``.
"""

from typing import TYPE_CHECKING

from ozon_async.push._base import PushEventBase, UnknownEvent
from ozon_async.push._decode import BadEvent, Incoming, decode_event, read_body
from ozon_async.push._dispatch import HandlerRetry, PushClock, retry_delay
from ozon_async.push._events import *  # noqa: F403 - every event class and the constants
from ozon_async.push._events import __all__ as _events_all
from ozon_async.push._receiver import PushReceiver
from ozon_async.push._store import PushStore, SQLiteStore, StoredEvent

if TYPE_CHECKING:
    from ozon_async.push._redis_store import RedisStore

__all__ = [
    "BadEvent",
    "HandlerRetry",
    "Incoming",
    "PushClock",
    "PushEventBase",
    "PushReceiver",
    "PushStore",
    "RedisStore",
    "SQLiteStore",
    "StoredEvent",
    "UnknownEvent",
    "decode_event",
    "read_body",
    "retry_delay",
    *_events_all,
]


def __getattr__(name: str) -> object:
    if name == "RedisStore":  # imports redis only when asked for
        from ozon_async.push._redis_store import RedisStore

        return RedisStore
    raise AttributeError(f"module 'ozon_async.push' has no attribute {name!r}")
