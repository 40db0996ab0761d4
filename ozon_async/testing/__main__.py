"""``python -m ozon_async.testing``: serve the mock Ozon Seller API for manual use."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from ozon_async.testing._server import MockOzonServer


async def _serve(args: argparse.Namespace) -> None:
    server = MockOzonServer(
        host=args.host,
        port=args.port,
        items=args.items,
        rate_limit=None if args.rate_limit <= 0 else args.rate_limit,
    )
    await server.start()
    print(
        f"mock Ozon Seller API on {server.url} (admin: {server.url}/__admin/requests)", flush=True
    )
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m ozon_async.testing", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--items", type=int, default=250, help="items per paginated list")
    ap.add_argument(
        "--rate-limit", type=float, default=50.0, help="requests per second per Client-Id (0: off)"
    )
    args = ap.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
