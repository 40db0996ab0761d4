"""``python -m ozon_async.testing``: serve the sandbox (a local Ozon shop) for manual use.

``--speed 60`` runs sandbox time 60 times faster than real time (the 30-s stock rule passes in
half a second, reports are ready sooner); ``--seed`` picks the shop. The sandbox accepts only the
Client-Id and Api-Key it prints (``--client-id``/``--api-key`` choose them; ``--any-key`` accepts
any), and refuses others as Ozon refuses a wrong key. The admin endpoints
(``/__admin/...``) take POST with a JSON body from this machine only; with ``--host`` other than
loopback they also need ``Authorization: Bearer $OZON_SANDBOX_ADMIN_TOKEN`` (a random token is
printed when it is not set). ``--performance-port`` also
serves the Performance (advertising) API there, with the same seed and clock. ``--push-url URL``
sends push notifications there; ``POST /__admin/order {"offer_ids": [...]}`` places a buyer's
order and ``POST /__admin/message {"chat_id", "text"}`` writes as a buyer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import sys
from datetime import datetime

from ozon_async._listen import OneLineParser, listen_error
from ozon_async.testing._clock import ScaledClock
from ozon_async.testing._server import (
    SANDBOX_ACCESS_TOKEN,
    SANDBOX_API_KEY,
    SANDBOX_CLIENT_ID,
    Sandbox,
)

#: The admin endpoints' bearer token when the sandbox listens beyond loopback (default: random,
#: printed at start).
ADMIN_TOKEN_ENV = "OZON_SANDBOX_ADMIN_TOKEN"


async def _serve(args: argparse.Namespace) -> None:
    start = datetime.fromisoformat(args.start.replace("Z", "+00:00")) if args.start else None
    sandbox = Sandbox(
        seed=args.seed,
        clock=ScaledClock(speed=args.speed, start=start),
        host=args.host,
        port=args.port,
        items=args.items,
        products=args.products,
        postings=args.postings,
        warehouses=args.warehouses,
        rate_limit=None if args.rate_limit <= 0 else args.rate_limit,
        client_id=args.client_id,
        api_key=args.api_key,
        access_token=args.access_token or None,
        any_key=args.any_key,
        admin_token=os.environ.get(ADMIN_TOKEN_ENV) or None,
        push_url=args.push_url,
    )
    if args.performance_port is not None:
        from ozon_async.testing._performance import PerformanceSandbox

        sandbox.performance = PerformanceSandbox(
            seed=args.seed, clock=sandbox.clock, host=args.host, port=args.performance_port
        )
    await sandbox.start()
    # The seeded shop is long-lived: keep the collector from walking it on every full collection
    # (pauses of tens of milliseconds would bunch the requests a paced client spreads out).
    gc.collect()
    gc.freeze()
    admin = f"admin: POST JSON to {sandbox.url}/__admin/state"
    if sandbox.admin_token is not None:
        given = os.environ.get(ADMIN_TOKEN_ENV)
        shown = f"${ADMIN_TOKEN_ENV}" if given else sandbox.admin_token
        admin += f" with Authorization: Bearer {shown}"
    print(
        f"Ozon sandbox (seed {args.seed}, speed {args.speed:g}x) on {sandbox.url} ({admin})\n"
        f"  accepts {sandbox.credentials_text()}",
        flush=True,
    )
    if sandbox.pusher is not None:
        problems = ", ".join(sandbox.pusher.ping_errors or []) or "answered correctly"
        print(f"push notifications to {args.push_url} (ping: {problems})", flush=True)
    if sandbox.performance is not None:
        print(
            f"Performance API sandbox on {sandbox.performance.url} (any client id and secret)",
            flush=True,
        )
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()


def main(argv: list[str] | None = None) -> None:
    # `ozon sandbox` runs this module and names itself in its messages
    prog = os.environ.get("OZON_SANDBOX_PROG") or "python -m ozon_async.testing"
    ap = OneLineParser(prog=prog, description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    ap.add_argument("--seed", type=int, default=0, help="the shop's seed (same seed, same shop)")
    ap.add_argument("--speed", type=float, default=1.0, help="sandbox seconds per real second")
    ap.add_argument("--start", default=None, help="sandbox time at start (ISO 8601; default now)")
    ap.add_argument("--items", type=int, default=100, help="items per generated list operation")
    ap.add_argument("--products", type=int, default=60)
    ap.add_argument("--postings", type=int, default=300)
    ap.add_argument("--warehouses", type=int, default=4)
    ap.add_argument(
        "--rate-limit", type=float, default=50.0, help="requests per second per Client-Id (0: off)"
    )
    ap.add_argument("--client-id", default=SANDBOX_CLIENT_ID, help="the Client-Id it accepts")
    ap.add_argument("--api-key", default=SANDBOX_API_KEY, help="the Api-Key it accepts")
    ap.add_argument(
        "--access-token", default=SANDBOX_ACCESS_TOKEN, help="the OAuth token it accepts"
    )
    ap.add_argument(
        "--any-key", action="store_true", help="accept any Client-Id and Api-Key (or token)"
    )
    ap.add_argument(
        "--push-url",
        metavar="URL",
        help="send Ozon's push notifications there when the shop changes (e.g. a receiver "
        "started with python -m ozon_async.push --allow-any-address)",
    )
    ap.add_argument(
        "--performance-port",
        type=int,
        default=None,
        help="also serve the Performance API on this port (0 picks a free one)",
    )
    args = ap.parse_args(argv)
    if args.speed <= 0:
        ap.error("--speed must be positive")
    if not 0 <= args.port <= 65535:
        ap.error("--port must be between 0 and 65535")
    if args.start:
        try:
            datetime.fromisoformat(args.start.replace("Z", "+00:00"))
        except ValueError:
            ap.error(f"--start {args.start!r} is not an ISO 8601 date and time")
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args))
    except OSError as exc:
        print(f"{prog}: {listen_error(exc, args.host, args.port)}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
