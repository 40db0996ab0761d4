"""``python -m ozon_async.push``: receive Ozon's push notifications without writing code.

Each newly accepted event is appended to ``--jsonl`` as one JSON line (the body as Ozon sent
it), after it was stored durably; an event Ozon sends again is answered but not written twice.
A line that could not be written is retried, like any handler. Only Ozon's networks may send
unless ``--allow-any-address`` (for local tests, e.g. with the sandbox's ``--push-url``).

    python -m ozon_async.push --port 8080 --store push.sqlite3 --jsonl events.jsonl
    python -m ozon_async.push --port 8080 --store redis://127.0.0.1:6379/0 --jsonl -
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import IO

import msgspec

from ozon_async.push._receiver import PushReceiver
from ozon_async.push._store import PushStore, SQLiteStore, StoredEvent

__all__ = ["JsonLines", "build_parser", "main", "make_store"]

_DEC = msgspec.json.Decoder()
_ENC = msgspec.json.Encoder()


class JsonLines:
    """A raw handler that appends each event's body as one JSON line to a file (or stdout)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._file: IO[bytes] | None = None

    def _open(self) -> IO[bytes]:
        if self._file is None:
            self._file = sys.stdout.buffer if self.target == "-" else open(self.target, "ab")  # noqa: SIM115
        return self._file

    async def __call__(self, event: StoredEvent) -> None:
        line = _ENC.encode(_DEC.decode(event.body)) + b"\n"  # one line, whatever Ozon's layout
        f = self._open()
        f.write(line)
        f.flush()
        if self.target != "-":
            os.fsync(f.fileno())

    def close(self) -> None:
        if self._file is not None and self.target != "-":
            self._file.close()
        self._file = None


def make_store(spec: str, consumer: str | None = None) -> PushStore:
    """``redis://``/``rediss://``/``unix://`` URLs give a RedisStore, anything else an SQLite
    file."""
    if spec.startswith(("redis://", "rediss://", "unix://")):
        from ozon_async.push._redis_store import RedisStore

        return RedisStore(spec, consumer=consumer)
    return SQLiteStore(spec)


def build_parser(prog: str = "python -m ozon_async.push") -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--host", default="0.0.0.0", help="interface to listen on (default 0.0.0.0)")
    ap.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks one)")
    ap.add_argument(
        "--store",
        default="ozon-push.sqlite3",
        metavar="PATH|redis://...",
        help="an SQLite file (default ozon-push.sqlite3) or a Redis URL",
    )
    ap.add_argument("--jsonl", metavar="FILE|-", help="append each new event here (- is stdout)")
    ap.add_argument(
        "--allow-any-address",
        action="store_true",
        help="accept notifications from any address (local tests only)",
    )
    ap.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="CIDR",
        help="a reverse proxy whose X-Forwarded-For is believed (repeatable)",
    )
    ap.add_argument(
        "--network",
        action="append",
        metavar="CIDR",
        help="allowed source networks instead of Ozon's (repeatable)",
    )
    ap.add_argument("--max-body-size", type=int, default=1024 * 1024, metavar="BYTES")
    ap.add_argument("--consumer", help="this receiver's name in a Redis consumer group")
    ap.add_argument("-v", "--verbose", action="store_true", help="log every event")
    return ap


async def _serve(args: argparse.Namespace) -> None:
    receiver = PushReceiver(
        make_store(args.store, args.consumer),
        networks=args.network,
        allow_any_address=args.allow_any_address,
        trusted_proxies=args.trusted_proxy,
        max_body_size=args.max_body_size,
    )
    sink = JsonLines(args.jsonl) if args.jsonl else None
    if sink is not None:
        receiver.add_handler(sink, name="jsonl", raw=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await receiver.serve(args.host, args.port)
    where = "any address" if args.allow_any_address else "Ozon's networks"
    print(
        f"ozon push receiver on http://{args.host}:{receiver.port} (store {receiver.store!r}, "
        f"accepting {where})",
        file=sys.stderr,
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await receiver.close()
        if sink is not None:
            sink.close()


def main(argv: list[str] | None = None, prog: str = "python -m ozon_async.push") -> int:
    args = build_parser(prog).parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 130
    except (OSError, ValueError) as exc:
        print(f"ozon push: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
