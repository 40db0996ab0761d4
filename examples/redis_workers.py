"""Several workers, one budget: worker processes on one Client-Id share a RedisRateLimiter.

    python examples/redis_workers.py redis://localhost:6379/0 [WORKERS]

Ozon counts requests per Client-Id, not per process: three workers each pacing itself to the
limit would send three times too much. With ``RedisRateLimiter`` every worker draws from one
budget kept in Redis. Here the bundled sandbox plays Ozon with a low limit (``RATE`` requests per
second, answering 429 above it), the workers start as separate processes, and the run reports the
busiest second the sandbox saw. Requests reach a server a little later than the limiter granted
them; on a heavily loaded machine a few may still arrive together and get a 429, which the client
waits out and resends (each worker says how many).
"""

from __future__ import annotations

import asyncio
import secrets
import sys

from ozon_async import HookEvent, OzonClient
from ozon_async.redis_limiter import RedisRateLimiter
from ozon_async.testing import Sandbox

RATE = 20.0  # requests per second for the Client-Id, shared by every worker
CALLS = 20  # per worker


async def worker(base_url: str, redis_url: str, prefix: str, client_id: str, key: str) -> None:
    """One worker: CALLS requests at once, paced by the shared limiter."""
    refused = 0

    def on_response(event: HookEvent) -> None:
        nonlocal refused
        refused += event.status == 429

    async with (
        RedisRateLimiter.from_url(redis_url, prefix=prefix) as limiter,
        OzonClient(
            client_id,
            key,
            base_url=base_url,
            limiter=limiter,
            rate_limit=RATE,
            event_hooks={"response": [on_response]},
        ) as client,
    ):
        await asyncio.gather(*[client.warehouse.list_v2(limit=1) for _ in range(CALLS)])
    print(f"worker: {CALLS} calls answered; {refused} attempts refused with 429 (and resent)")


async def main(redis_url: str, workers: int) -> int:
    prefix = f"ozon-example:{secrets.token_hex(4)}:"  # a budget of this run's own
    async with Sandbox(seed=1, rate_limit=RATE) as sandbox:
        args = [sandbox.url, redis_url, prefix, sandbox.client_id, sandbox.api_key]
        procs = [
            await asyncio.create_subprocess_exec(sys.executable, __file__, "--worker", *args)
            for _ in range(workers)
        ]
        codes = [await p.wait() for p in procs]
        times = sorted(r.at for r in sandbox.requests)
    busiest = max(
        (sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times)), default=0
    )
    print(
        f"{workers} workers sent {len(times)} requests; the busiest second had {busiest} "
        f"(limit {RATE:g} per second)"
    )
    return max(codes, default=0)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        asyncio.run(worker(*sys.argv[2:7]))
    elif len(sys.argv) < 2:
        print("usage: python examples/redis_workers.py REDIS_URL [WORKERS]", file=sys.stderr)
        sys.exit(2)
    else:
        sys.exit(asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3)))
