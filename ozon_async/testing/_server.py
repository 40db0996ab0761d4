"""A local Ozon Seller API: every operation of the spec, with faults, limits and pagination.

The application is built at run time from the spec shipped in the package
(``ozon_async/_spec/openapi.json``): each operation answers with its example, validates the
request body against the operation's request model, and list operations serve pages of distinct
items. Tests can inject faults per operation and read every request the server received.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import msgspec
from aiohttp import web

from ozon_async._operation import Operation, Pagination
from ozon_async.resources._registry import OPERATIONS

RATE_LIMIT_BODY = {
    "code": 8,
    "message": "You have reached request rate limit per second",
    "details": [],
}
CIRCUIT_BODY = {"code": 14, "message": "Circle is open", "details": []}
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
ADMIN = "/__admin"


@dataclass
class Fault:
    """A misbehaviour injected into one operation.

    Attributes:
        status: answer with this status instead of the example (``None``: the normal answer).
        body: the body to send with ``status``: a dict (JSON), a string or bytes. ``None`` sends
            Ozon's error body for 429 and a generic one otherwise.
        html: answer with an nginx-like HTML page (with ``status``, default 502).
        empty: answer with an empty body.
        headers: extra answer headers, e.g. ``{"Retry-After": "1"}``.
        delay: seconds to wait before answering (or before dropping).
        drop: ``"before_read"`` closes the connection without reading the request;
            ``"after_read"`` reads the request, then closes without answering.
        circuit_open_for: seconds during which the operation answers "Circle is open" (503).
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
    """A request the server received. ``headers`` has the Api-Key replaced by ``***``."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    client_id: str | None
    at: float


def _load_spec() -> dict[str, Any]:
    data = resources.files("ozon_async._spec").joinpath("openapi.json").read_bytes()
    spec: dict[str, Any] = msgspec.json.decode(data)
    return spec


def _get(obj: Any, path: tuple[str, ...] | list[str]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _set(obj: dict[str, Any], path: tuple[str, ...] | list[str], value: Any) -> None:
    for part in path[:-1]:
        nxt = obj.get(part)
        if not isinstance(nxt, dict):
            nxt = obj[part] = {}
        obj = nxt
    obj[path[-1]] = value


_ID_HINTS = ("id", "sku", "posting_number", "offer_id", "order_number", "number")


class MockOzonServer:
    """The mock API. Use :meth:`start`/:meth:`stop` (or ``async with``), then point an
    :class:`ozon_async.OzonClient` at :attr:`url`.

    Args:
        items: how many items each paginated list operation holds.
        rate_limit: requests per second allowed per Client-Id (Ozon: 50); ``None`` disables.
        method_limits: enforce the per-method limits of the spec (``x-ozon-rate-limit``).
        host, port: where to listen; port 0 picks a free one.
    """

    def __init__(
        self,
        *,
        items: int = 250,
        rate_limit: float | None = 50.0,
        method_limits: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.items = items
        self.rate_limit = rate_limit
        self.method_limits = method_limits
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self._faults: dict[str, list[Fault]] = {}
        self._windows: dict[str, deque[float]] = {}
        self._spec = _load_spec()
        self._paths: dict[str, dict[str, Any]] = self._spec["paths"]
        self._pages: dict[str, list[Any]] = {}
        self._runner: web.AppRunner | None = None
        self.app = self._make_app()

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> MockOzonServer:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> MockOzonServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ test controls
    def add_fault(self, path: str, fault: Fault | None = None, /, **kwargs: Any) -> Fault:
        """Inject a fault into an operation (by path): ``server.add_fault("/v2/products/stocks",
        status=503)``. Faults queue up and each applies to ``times`` requests."""
        f = fault or Fault(**kwargs)
        self._faults.setdefault(path, []).append(f)
        return f

    def clear_faults(self) -> None:
        self._faults.clear()

    def reset(self) -> None:
        """Forget faults, recorded requests and rate-limit windows."""
        self._faults.clear()
        self.requests.clear()
        self._windows.clear()

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    # ------------------------------------------------------------------ app
    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", ADMIN + "/{action}", self._admin)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _admin(self, request: web.Request) -> web.StreamResponse:
        action = request.match_info["action"]
        if action == "faults" and request.method == "POST":
            data = await request.json()
            path = data.pop("path")
            self.add_fault(path, **data)
            return web.json_response({"ok": True})
        if action == "faults" and request.method == "DELETE":
            self.clear_faults()
            return web.json_response({"ok": True})
        if action == "requests":
            return web.json_response(
                [
                    {
                        "method": r.method,
                        "path": r.path,
                        "headers": r.headers,
                        "body": r.body,
                        "at": r.at,
                    }
                    for r in self.requests
                ]
            )
        if action == "reset":
            self.reset()
            return web.json_response({"ok": True})
        return _error(404, 5, f"unknown admin action {action}")

    def _take_fault(self, path: str) -> Fault | None:
        queue = self._faults.get(path)
        while queue:
            f = queue[0]
            if f.circuit_open_for is not None:
                now = time.monotonic()
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

    def _limited(self, key: str, requests: float, period: float) -> bool:
        now = time.monotonic()
        window = self._windows.setdefault(key, deque())
        while window and now - window[0] >= period:
            window.popleft()
        if len(window) >= requests:
            return True
        window.append(now)
        return False

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        item = self._paths.get(path)
        fault = self._take_fault(path) if item is not None else None
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.drop == "before_read":
            return _drop(request)
        raw = await request.read()
        headers = {k: ("***" if k.lower() == "api-key" else v) for k, v in request.headers.items()}
        try:
            body = msgspec.json.decode(raw) if raw else None
            decoded = True
        except msgspec.DecodeError:
            body, decoded = raw.decode("utf-8", "replace"), False
        client_id = request.headers.get("Client-Id")
        self.requests.append(
            RecordedRequest(request.method, path, headers, body, client_id, time.monotonic())
        )
        if fault is not None and fault.drop == "after_read":
            return _drop(request)
        if item is None:
            return _error(404, 5, f"unknown method {path}")
        op_spec = item.get(request.method.lower())
        if op_spec is None:
            return _error(405, 12, f"method {request.method} is not allowed for {path}")
        if not client_id or not request.headers.get("Api-Key"):
            return _error(401, 16, "Client-Id and Api-Key headers are required")
        op = OPERATIONS[f"{request.method} {path}"]
        if self.method_limits and op.rate_limit is not None:
            rl = op.rate_limit
            if self._limited(f"{client_id} {path}", rl.requests, rl.period):
                return web.json_response(RATE_LIMIT_BODY, status=429)
        if self.rate_limit is not None and self._limited(client_id, self.rate_limit, 1.0):
            return web.json_response(RATE_LIMIT_BODY, status=429)
        if fault is not None:
            return _fault_response(fault)
        if request.method != "GET":
            if not decoded:
                return _error(400, 3, "the request body is not valid JSON")
            problem = _validate(op, body)
            if problem:
                return _error(400, 3, problem)
        if op.response_content_type == "application/pdf":
            return web.Response(body=PDF, content_type="application/pdf")
        media = next(iter(op_spec["responses"]["200"]["content"].values()))
        answer = copy.deepcopy(media["example"])
        if op.pagination is not None and isinstance(body, dict):
            answer = self._page(op, op.pagination, answer, body)
        return web.Response(body=msgspec.json.encode(answer), content_type="application/json")

    # ------------------------------------------------------------------ pagination
    def _item_list(self, op: Operation, p: Pagination, example: dict[str, Any]) -> list[Any]:
        items = self._pages.get(op.path)
        if items is not None:
            return items
        template_list = _get(example, p.items) or [{}]
        template = template_list[0] if template_list else {}
        items = [_vary(template, i, p.next_from_item) for i in range(self.items)]
        self._pages[op.path] = items
        return items

    def _page(self, op: Operation, p: Pagination, example: Any, body: dict[str, Any]) -> Any:
        if not isinstance(example, dict):
            return example
        items = self._item_list(op, p, example)
        limit = body.get(p.limit) if p.limit else None
        if not isinstance(limit, int) or limit <= 0:
            limit = 100
        position = body.get(p.position)
        if p.style == "offset":
            start = int(position or 0)
        elif p.style == "page":
            first = p.first_page if p.first_page is not None else 1
            start = (int(position if position is not None else first) - first) * limit
        elif p.next_from_item:
            last = int(position or 0)
            start = next(
                (i for i, it in enumerate(items) if it.get(p.next_from_item, 0) > last), len(items)
            )
        else:
            start = (
                int(position) if position not in (None, "", 0) and str(position).isdigit() else 0
            )
        chunk = items[start : start + limit]
        end = start + len(chunk)
        more = end < len(items)
        answer = copy.deepcopy(example)
        _set(answer, p.items, chunk)
        if p.has_next:
            _set(answer, p.has_next, more)
        if p.total:
            _set(answer, p.total, len(items))
        if p.page_count:
            _set(answer, p.page_count, -(-len(items) // limit))
        if p.next:
            token_example = _get(example, p.next)
            token: Any = end if more else ""
            if not isinstance(token_example, int):
                token = str(end) if more else ""
            elif not more:
                token = 0
            _set(answer, p.next, token)
        return answer


def _vary(template: Any, i: int, id_field: str | None) -> Any:
    """Item number ``i``: a copy of the example item whose identifying fields are made unique."""
    if not isinstance(template, dict):
        return template
    item = copy.deepcopy(template)
    for key, value in template.items():
        if key == id_field:
            item[key] = i + 1
        elif isinstance(value, dict):
            item[key] = _vary(value, i, None)
        elif isinstance(value, bool) or not (key == "code" or any(h in key for h in _ID_HINTS)):
            continue
        elif isinstance(value, int):
            item[key] = value * 1000 + i + 1 if value else i + 1
        elif isinstance(value, str) and value.isdigit():
            item[key] = str(int(value) * 1000 + i + 1)
        elif isinstance(value, str):
            item[key] = f"{value}-{i + 1}" if value else str(i + 1)
    return item


def _validate(op: Operation, body: Any) -> str | None:
    request_type = op.request_type
    if request_type is None:
        return (
            None if body in (None, {}) or isinstance(body, dict) else "the body must be an object"
        )
    try:
        msgspec.convert(body if body is not None else {}, request_type, strict=False)
    except msgspec.ValidationError as exc:
        return f"invalid request: {exc}"
    return None


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message, "details": []}, status=status)


def _drop(request: web.Request) -> web.Response:
    """Close the connection without an answer (the returned response is never sent)."""
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response()


def _fault_response(f: Fault) -> web.Response:
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
