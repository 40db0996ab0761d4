"""The HTTP side: an aiohttp application that answers Ozon exactly as documented and hands each
event to the store before answering."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime, timezone
from typing import Any, TypeVar

import msgspec
from aiohttp import web

from ozon_async._version import __version__
from ozon_async.push._decode import BadEvent, read_body
from ozon_async.push._dispatch import (
    Dispatcher,
    Handler,
    HandlerRetry,
    Handlers,
    PushClock,
    WallClock,
)
from ozon_async.push._events import NETWORKS, PushPingAnswer
from ozon_async.push._store import PushStore, SQLiteStore, StoredEvent

__all__ = ["PushReceiver"]

log = logging.getLogger("ozon_async.push")

F = TypeVar("F", bound=Handler)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_RESULT = b'{"result":true}'
_ENC = msgspec.json.Encoder()


def _networks(values: Iterable[str], what: str) -> tuple[Network, ...]:
    if isinstance(values, str):
        values = [values]
    out = []
    for v in values:
        try:
            out.append(ipaddress.ip_network(str(v).strip(), strict=False))
        except ValueError:
            raise ValueError(f"{what}: {v!r} is not an IP address or network") from None
    return tuple(out)


def _address(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        addr = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _error(status: int, code: str, message: str) -> web.Response:
    """Ozon's error body (``details`` is sent as null, as in Ozon's template)."""
    body = {"error": {"code": code, "message": message, "details": None}}
    return web.Response(status=status, body=_ENC.encode(body), content_type="application/json")


class PushReceiver:
    """Receives Ozon's push notifications: answers Ozon as documented, keeps every event in a
    durable store before answering, and runs your handlers from the store.

    ::

        receiver = PushReceiver("push.sqlite3")

        @receiver.on(PushNewPosting)
        async def new_posting(event: PushNewPosting) -> None:
            ...

        await receiver.serve(port=8080)          # alone, or:
        receiver.attach(my_app, "/ozon/push")    # inside your aiohttp application

    What Ozon gets: ``TYPE_PING`` is answered with ``{"version", "name", "time"}`` (``time`` when
    handling started, UTC); any other event, once stored, with 200 ``{"result": true}`` — also
    when it was received before (it is handled once); a body that is not JSON with 400 and a
    missing ``message_type`` with 400 (``ERROR_PARAMETER_VALUE_MISSED``); a source address
    outside Ozon's networks with 403; a body over ``max_body_size`` with 413; a store failure
    with 503 (Ozon sends the event again). Errors carry Ozon's body ``{"error": {"code",
    "message", "details"}}``.

    Handlers run in the background, ``concurrency`` events at a time: one that raises (or
    exceeds ``handler_timeout``) runs again later as ``retry`` says, while the handlers of the
    event that succeeded do not run again. Events still pending when the receiver stops (or
    crashes) run when it starts again.

    Args:
        store: a :class:`~ozon_async.push.PushStore`, or the path of an SQLite file
            (:class:`~ozon_async.push.SQLiteStore`).
        networks: address ranges allowed to send (default: Ozon's, ``NETWORKS``).
        allow_any_address: accept every source address (local tests only).
        trusted_proxies: addresses or networks of your reverse proxies: only a request from one
            of them has its ``X-Forwarded-For`` read (from the right, skipping trusted hops).
        max_body_size: the largest body accepted, in bytes.
        name, version: what the ping answer reports.
        concurrency: events handled at the same time.
        retry: how failed handlers are retried (:class:`~ozon_async.push.HandlerRetry`).
        handler_timeout: seconds one handler call may take before it counts as failed.
        clock: the time source (epoch seconds and sleep); tests give a manual clock.
    """

    def __init__(
        self,
        store: PushStore | str | os.PathLike[str] = "ozon-push.sqlite3",
        *,
        networks: Iterable[str] | None = None,
        allow_any_address: bool = False,
        trusted_proxies: Iterable[str] = (),
        max_body_size: int = 1024 * 1024,
        name: str = "ozon_async",
        version: str = __version__,
        concurrency: int = 8,
        retry: HandlerRetry | None = None,
        handler_timeout: float = 60.0,
        clock: PushClock | None = None,
    ) -> None:
        if max_body_size < 1:
            raise ValueError("max_body_size must be positive")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if handler_timeout <= 0:
            raise ValueError("handler_timeout must be positive")
        self.store: PushStore = (
            SQLiteStore(store) if isinstance(store, (str, os.PathLike)) else store
        )
        self.networks = _networks(NETWORKS if networks is None else networks, "networks")
        self.allow_any_address = allow_any_address
        self.trusted_proxies = _networks(trusted_proxies, "trusted_proxies")
        self.max_body_size = max_body_size
        self.name = name
        self.version = version
        self.clock: PushClock = clock if clock is not None else WallClock()
        self.handlers = Handlers()
        self._dispatcher = Dispatcher(
            self.store,
            self.handlers,
            clock=self.clock,
            retry=retry if retry is not None else HandlerRetry(),
            concurrency=concurrency,
            handler_timeout=handler_timeout,
        )
        self._started = 0
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        self.stats = {"received": 0, "duplicates": 0, "pings": 0, "refused": 0}

    # ------------------------------------------------------------------ handlers
    def on(self, *types: Any, name: str | None = None, raw: bool = False) -> Callable[[F], F]:
        """Register an async handler for event classes (``PushNewPosting``), ``message_type``
        strings (also of types the spec does not list) or ``UnknownEvent``; with no type, for
        every event. ``name`` (default: the function's qualified name) identifies it in the
        store. With ``raw=True`` it gets the :class:`~ozon_async.push.StoredEvent` (the body as
        Ozon sent it) instead of the typed event."""

        def register(fn: F) -> F:
            self.handlers.add(fn, types, name, raw)
            return fn

        return register

    def add_handler(
        self, fn: Handler, *types: Any, name: str | None = None, raw: bool = False
    ) -> None:
        """The same as :meth:`on`, without a decorator."""
        self.handlers.add(fn, types, name, raw)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Open the store and start running handlers (done by :meth:`serve`, :attr:`app` and
        :meth:`attach` for you)."""
        self._started += 1
        if self._started > 1:
            return
        try:
            await self.store.open()
        except BaseException:
            self._started = 0
            raise
        self._dispatcher.start()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop handling (running handlers get ``timeout`` seconds) and close the store."""
        if self._started == 0:
            return
        self._started -= 1
        if self._started:
            return
        await self._dispatcher.stop(timeout)
        await self.store.close()

    async def _lifespan(self, app: web.Application) -> AsyncIterator[None]:
        await self.start()
        yield
        await self.stop()

    @property
    def app(self) -> web.Application:
        """A new aiohttp application that receives at every path, and starts and stops the
        receiver with itself; mount it with ``parent.add_subapp("/ozon", receiver.app)``."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.cleanup_ctx.append(self._lifespan)
        return app

    def attach(self, app: web.Application, path: str) -> None:
        """Receive at ``path`` of your own aiohttp application (which then starts and stops the
        receiver)."""
        app.router.add_route("*", path, self.handle)
        app.cleanup_ctx.append(self._lifespan)

    async def serve(self, host: str = "0.0.0.0", port: int = 8080) -> None:
        """Listen on ``host``:``port`` (0 picks a free port, then see :attr:`port`) until
        :meth:`close`."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def close(self) -> None:
        """Stop what :meth:`serve` started."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> PushReceiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ inspection
    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until every stored event has been handled (or given up on); raises
        ``TimeoutError`` after ``timeout`` real seconds. For tests and scripts."""

        async def wait() -> None:
            while True:
                await self._dispatcher.idle()
                if (await self.store.counts())["pending"] == 0:
                    return
                await asyncio.sleep(0.01)

        await asyncio.wait_for(wait(), timeout)

    async def counts(self) -> dict[str, int]:
        """Stored events: ``pending`` (waiting, running or to be retried), ``failed``, and for
        SQLite ``handled``."""
        return await self.store.counts()

    async def failed_events(self) -> list[StoredEvent]:
        """The events given up on after ``retry.max_attempts`` failed runs."""
        return await self.store.failed()

    async def requeue_failed(self) -> int:
        """Run the handlers of every failed event again; returns how many."""
        n = await self.store.requeue_failed(self.clock.now())
        self._dispatcher.wake()
        return n

    # ------------------------------------------------------------------ HTTP
    def source_address(self, request: web.BaseRequest) -> Address | None:
        """The address the request came from: the peer, or, when the peer is a trusted proxy,
        the last ``X-Forwarded-For`` hop that is not one."""
        addr = _address(request.remote)
        if addr is None or not any(addr in n for n in self.trusted_proxies):
            return addr
        hops = [
            h.strip()
            for value in request.headers.getall("X-Forwarded-For", [])
            for h in value.split(",")
            if h.strip()
        ]
        for hop in reversed(hops):
            hop_addr = _address(hop)
            if hop_addr is None:
                return None  # a forged or garbled header: refuse rather than guess
            if not any(hop_addr in n for n in self.trusted_proxies):
                return hop_addr
            addr = hop_addr
        return addr

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The request handler (route it yourself, or use :attr:`app` or :meth:`attach`)."""
        started = datetime.now(timezone.utc)
        if request.method != "POST":
            return _error(405, "ERROR_UNKNOWN", "Ozon sends notifications with POST")
        if not self.allow_any_address:
            addr = self.source_address(request)
            if addr is None or not any(addr in n for n in self.networks):
                self.stats["refused"] += 1
                log.warning("push: refused a request from %s (not Ozon's networks)", addr)
                return _error(403, "ERROR_UNKNOWN", f"source address {addr} is not allowed")
        length = request.content_length
        if length is not None and length > self.max_body_size:
            return _too_large(self.max_body_size)
        body = bytearray()
        while True:
            chunk = await request.content.read(65536)
            if not chunk:
                break
            body += chunk
            if len(body) > self.max_body_size:
                return _too_large(self.max_body_size)
        try:
            incoming = read_body(bytes(body))
        except BadEvent as exc:
            return _error(400, exc.code, exc.message)
        if incoming.message_type == "TYPE_PING":
            self.stats["pings"] += 1
            answer = PushPingAnswer(version=self.version, name=self.name, time=started)
            return web.Response(body=_ENC.encode(answer), content_type="application/json")
        if self._started == 0:
            return _error(503, "ERROR_UNKNOWN", "the receiver is not started")
        try:
            new = await self.store.add(
                incoming.key, incoming.message_type, incoming.body, self.clock.now()
            )
        except Exception:
            log.exception("push: could not store a %s event", incoming.message_type)
            return _error(503, "ERROR_UNKNOWN", "the event could not be stored; send it again")
        if new:
            self.stats["received"] += 1
            self._dispatcher.wake()
        else:
            self.stats["duplicates"] += 1
        return web.Response(body=_RESULT, content_type="application/json")


def _too_large(limit: int) -> web.Response:
    return _error(413, "ERROR_UNKNOWN", f"the body is larger than {limit} bytes")
