"""A scripted MockTransport for client tests: per path, a list of answers given in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ozon_async import HTTPRequest, HTTPResponse, MockTransport

Answer = HTTPResponse | BaseException | Callable[[HTTPRequest], HTTPResponse]


class Script:
    """``script.on(path, answer, ...)`` queues answers for ``path``; the last one repeats.

    An answer is an :class:`HTTPResponse`, an exception to raise (a network failure), or a
    function of the request. ``script.calls(path)`` lists the requests that reached the wire.
    """

    def __init__(self) -> None:
        self.answers: dict[str, list[Answer]] = {}
        self.transport = MockTransport(self._handle)

    def on(self, path: str, *answers: Answer) -> Script:
        self.answers.setdefault(path, []).extend(answers)
        return self

    def calls(self, path: str | None = None) -> list[HTTPRequest]:
        return [r for r in self.transport.requests if path is None or r.path == path]

    def _handle(self, request: HTTPRequest) -> HTTPResponse:
        queue = self.answers.get(request.path)
        if not queue:
            return HTTPResponse(404, json={"code": 5, "message": f"no answer for {request.path}"})
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, HTTPResponse):
            return answer
        return answer(request)


def ok(data: Any, headers: dict[str, str] | None = None) -> HTTPResponse:
    return HTTPResponse(200, json=data, headers=headers)


def status(
    code: int, data: Any = None, body: bytes | str = b"", headers: dict[str, str] | None = None
) -> HTTPResponse:
    if data is not None:
        return HTTPResponse(code, json=data, headers=headers)
    content = body.encode() if isinstance(body, str) else body
    return HTTPResponse(code, content=content, headers=headers)


class InstantClock:
    """Real monotonic time, but waits (backoff, Retry-After) return at once and are recorded:
    for tests against real sockets, where a virtual clock cannot tell when the network is idle."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def now(self) -> float:
        import time

        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        import asyncio

        self.sleeps.append(seconds)
        await asyncio.sleep(0)
