"""A push receiver whose handler never finishes, run as a process the test kills with SIGKILL after
Ozon's requests were acknowledged: ``python tests/_push_worker.py STORE [CONSUMER PREFIX]`` with
STORE an SQLite path or a Redis URL; prints its port."""

from __future__ import annotations

import asyncio
import sys

from ozon_async.push import PushReceiver, PushStore, SQLiteStore


async def main(argv: list[str]) -> None:
    store: PushStore
    if argv[0].startswith("redis://"):
        from ozon_async.push import RedisStore

        store = RedisStore(argv[0], consumer=argv[1], prefix=argv[2])
    else:
        store = SQLiteStore(argv[0])
    receiver = PushReceiver(store, allow_any_address=True, concurrency=2)

    @receiver.on()
    async def stuck(event: object) -> None:
        await asyncio.Event().wait()

    await receiver.serve("127.0.0.1", 0)
    print(receiver.port, flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
