"""Small loopback HTTP/1.1 servers for runtime tests that need misbehaviour no real framework
produces on purpose: lying Content-Length, dropped connections, stalls, gzip bombs, redirects.

``RawServer(handler)`` answers each request with what ``handler(request)`` returns (a
:class:`Reply`); it keeps every request it read in ``requests``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec


@dataclass
class Seen:
    """A request as the server read it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


@dataclass
class Reply:
    """What to answer.

    Attributes:
        status, headers, body: the answer. ``Content-Length`` is added unless ``chunked``.
        json: encoded as the body (with its content type) when given.
        stall: seconds to wait before answering.
        drop: close the connection instead of answering (the request was read).
        truncate: send only this many bytes of the body (Content-Length says the whole), then
            close the connection.
        chunked: send the body with chunked transfer encoding, in pieces of ``chunk`` bytes.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    json: Any = None
    stall: float = 0.0
    drop: bool = False
    truncate: int | None = None
    chunked: bool = False
    chunk: int = 65536


Handler = Callable[[Seen], "Reply | Awaitable[Reply]"]

_REASONS = {200: "OK", 302: "Found", 307: "Temporary Redirect", 429: "Too Many Requests"}


class RawServer:
    def __init__(self, handler: Handler, *, keep: bool = True) -> None:
        self.handler = handler
        self.keep = keep  # keep every request in ``requests`` (off for long runs)
        self.requests: list[Seen] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> RawServer:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> RawServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        seen = Seen(method, path, headers, body)
        if self.keep:
            self.requests.append(seen)
        result = self.handler(seen)
        reply = await result if inspect.isawaitable(result) else result
        assert isinstance(reply, Reply)
        if reply.stall:
            await asyncio.sleep(reply.stall)
        if reply.drop:
            return False
        payload = reply.body
        out_headers = dict(reply.headers)
        if reply.json is not None:
            payload = msgspec.json.encode(reply.json)
            out_headers.setdefault("Content-Type", "application/json")
        status_line = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
        if reply.chunked:
            out_headers["Transfer-Encoding"] = "chunked"
        else:
            out_headers["Content-Length"] = str(len(payload))
        text = status_line + "".join(f"{k}: {v}\r\n" for k, v in out_headers.items()) + "\r\n"
        writer.write(text.encode("latin-1"))
        if reply.chunked:
            for i in range(0, len(payload), reply.chunk):
                piece = payload[i : i + reply.chunk]
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        elif reply.truncate is not None:
            writer.write(payload[: reply.truncate])
            await writer.drain()
            return False
        else:
            writer.write(payload)
        await writer.drain()
        return headers.get("connection", "").lower() != "close"
