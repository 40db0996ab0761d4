"""How the sandboxes misbehave on purpose and what they remember: a :class:`Fault` injected into
an operation, the answer it gives (:func:`fault_response`, :func:`drop_connection`), and the
:class:`RecordedRequest` each request leaves. Shared by the Seller and the Performance sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = [
    "CIRCUIT_BODY",
    "RATE_LIMIT_BODY",
    "Fault",
    "RecordedRequest",
    "drop_connection",
    "fault_response",
    "take_fault",
]

RATE_LIMIT_BODY = {
    "code": 8,
    "message": "You have reached request rate limit per second",
    "details": [],
}
CIRCUIT_BODY = {"code": 14, "message": "Circle is open", "details": []}


@dataclass
class Fault:
    """A misbehaviour injected into one operation.

    Attributes:
        status: answer with this status instead of the normal answer (``None``: the normal answer).
        body: the body to send with ``status``: a dict (JSON), a string or bytes. ``None`` sends
            Ozon's error body for 429 and a generic one otherwise.
        html: answer with an nginx-like HTML page (with ``status``, default 502).
        empty: answer with an empty body.
        headers: extra answer headers, e.g. ``{"Retry-After": "1"}``.
        delay: real seconds to wait before answering (or before dropping).
        drop: ``"before_read"`` closes the connection without reading the request;
            ``"after_read"`` reads the request, then closes without answering.
        circuit_open_for: sandbox seconds during which the operation answers "Circle is open" (503).
        times: how many requests the fault applies to; ``None`` for all of them.
    """

    status: int | None = None
    body: Any = None
    html: bool = False
    empty: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: str | None = None
    circuit_open_for: float | None = None
    times: int | None = 1
    _circuit_until: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.drop not in (None, "before_read", "after_read"):
            raise ValueError("drop must be 'before_read' or 'after_read'")


@dataclass
class RecordedRequest:
    """A request the sandbox received. ``path`` is the spec's path it matched (with its
    ``{parameters}``), ``raw_path`` the path as sent (percent-encoded); ``headers`` has the
    Api-Key and any bearer token replaced by ``***``; ``at`` is sandbox time (epoch seconds)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    client_id: str | None
    at: float
    raw_path: str = ""


def drop_connection(request: web.Request) -> web.Response:
    """Close the connection without an answer (the returned response is never sent)."""
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response()


def fault_response(f: Fault) -> web.Response:
    headers = dict(f.headers)
    if f.circuit_open_for is not None:
        return web.json_response(CIRCUIT_BODY, status=f.status or 503, headers=headers)
    status = f.status or (502 if f.html else 500)
    if f.empty:
        return web.Response(status=status, body=b"", headers=headers)
    if f.html:
        page = f"<html><head><title>{status}</title></head><body><center><h1>{status} Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
        return web.Response(status=status, text=page, content_type="text/html", headers=headers)
    if f.body is None:
        body: Any = (
            RATE_LIMIT_BODY
            if status == 429
            else {"code": 13, "message": "internal error", "details": []}
        )
        return web.json_response(body, status=status, headers=headers)
    if isinstance(f.body, (dict, list)):
        return web.Response(
            status=status,
            body=json.dumps(f.body).encode(),
            content_type="application/json",
            headers=headers,
        )
    data = f.body.encode() if isinstance(f.body, str) else f.body
    return web.Response(status=status, body=data, headers=headers)


def take_fault(queue: list[Fault] | None, now: float) -> Fault | None:
    """The fault that applies to the next request of an operation (``queue``: its faults in the
    order they were added), used up as it applies: a ``times`` fault counts down and leaves the
    queue at zero; a ``circuit_open_for`` fault holds from its first request for that many seconds
    of sandbox time (``now``), then leaves."""
    while queue:
        f = queue[0]
        if f.circuit_open_for is not None:
            if f._circuit_until is None:
                f._circuit_until = now + f.circuit_open_for
            if now < f._circuit_until:
                return f
            queue.pop(0)
            continue
        if f.times is not None:
            f.times -= 1
            if f.times <= 0:
                queue.pop(0)
        return f
    return None
