"""The sandbox: a local Ozon Seller API holding a shop in memory.

Built at run time from the spec shipped in the package (``ozon_async/_spec/openapi.json``), it
answers every operation: the operations of the shop's main flows (products, stocks, prices,
imports, warehouses, FBS postings, returns, chats, reports) read and change the shop's state;
every other operation answers with realistic data generated from its response schema. Requests are
validated against the operation's request model, Ozon's rate limits and per-item rules apply, faults
can be injected and every request is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import functools
import hashlib
import hmac
import json
import random
import re
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from ozon_async import _catalog
from ozon_async.testing import _data as d
from ozon_async.testing._clock import ManualClock, SandboxClock, ScaledClock
from ozon_async.testing._faults import (
    RATE_LIMIT_BODY,
    Fault,
    RecordedRequest,
    drop_connection,
    fault_response,
    take_fault,
)
from ozon_async.testing._files import pdf_bytes, png_bytes
from ozon_async.testing._handlers import (
    HANDLERS,
    NEEDS,
    PREPARE,
    Call,
    SandboxError,
    create_report,
    finish_import,
    label_file,
    report_type_for,
    seed_label_tasks,
)
from ozon_async.testing._reports import build_report
from ozon_async.testing._state import ImportTask, Report, ShopState

if TYPE_CHECKING:
    from ozon_async._client import OzonClient
    from ozon_async._operation import Operation
    from ozon_async.testing._performance import PerformanceSandbox
    from ozon_async.testing._push import PushSender

__all__ = [
    "SANDBOX_ACCESS_TOKEN",
    "SANDBOX_API_KEY",
    "SANDBOX_CLIENT_ID",
    "Fault",
    "MockOzonServer",
    "RecordedRequest",
    "Sandbox",
]

#: The credentials a sandbox accepts unless told others (``Sandbox(client_id=..., api_key=...)``,
#: ``python -m ozon_async.testing --client-id ... --api-key ...``). Not secrets: the sandbox is a
#: local mock; they exist so that a wrong key fails as it does on Ozon.
SANDBOX_CLIENT_ID = "123456"
SANDBOX_API_KEY = "sandbox-api-key"
SANDBOX_ACCESS_TOKEN = "sandbox-access-token"
#: Ozon's answer to a wrong or revoked key (HTTP 401).
INVALID_KEY_MESSAGE = "Invalid Api-Key, please check the key and try again"

ADMIN = "/__admin"
FILES = "/__files"


def load_spec() -> dict[str, Any]:
    """The packaged spec, read once by the catalogue (callers must not change it)."""
    return _catalog.spec(_catalog.SELLER)


@functools.lru_cache(maxsize=1)
def _spec_examples() -> dict[str, list[Any]]:
    return d.example_values(load_spec())


def _get(obj: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _set(obj: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        nxt = obj.get(part)
        if not isinstance(nxt, dict):
            nxt = obj[part] = {}
        obj = nxt
    obj[path[-1]] = value


def _canonical(body: Any) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)


class Sandbox:
    """A local Ozon shop behind the Seller API. Use :meth:`start`/:meth:`stop` (or ``async
    with``), then point an :class:`ozon_async.OzonClient` at :attr:`url`.

    Args:
        seed: the shop's seed; the same seed (and clock start) gives the same shop and answers.
        clock: the sandbox's time (:class:`ManualClock` for tests, :class:`ScaledClock` to run
            faster than real time); default: real time. Every rule (rate limits, the 30-s stock
            rule, task and report readiness) runs on it; give a client the same clock
            (``OzonClient(clock=...)``) so that its pacing agrees.
        items: how many items each generated (not state-backed) list operation holds.
        rate_limit: requests per second allowed per Client-Id or token (Ozon: 50); ``None``: off.
        method_limits: enforce the per-method limits of the spec (``x-ozon-rate-limit``).
        products, postings, warehouses, returns, chats: how big the seeded shop is.
        task_polls, task_seconds: an import task is done at its ``task_polls``-th status poll or
            ``task_seconds`` after it started, whichever comes first (``None`` turns a rule off).
        report_polls, report_seconds: the same for reports (``waiting`` → ``processing`` →
            ``success``).
        stock_interval: the stock of one offer at one warehouse may change once per this many
            seconds (Ozon: 30).
        price_updates_per_hour: price updates allowed per product per hour (Ozon: 10).
        host, port: where to listen; port 0 picks a free one.
        client_id, api_key: the only Client-Id and Api-Key accepted (defaults
            :data:`SANDBOX_CLIENT_ID`, :data:`SANDBOX_API_KEY`); any other pair is refused as
            Ozon refuses a wrong key (401, code 16), so a client's handling of a revoked key can
            be tested. :meth:`client` makes a client with them.
        access_token: the only OAuth bearer token accepted (default :data:`SANDBOX_ACCESS_TOKEN`).
        any_key: accept any Client-Id and Api-Key (or token), as older versions did.
        admin_token: the bearer token the admin endpoints (``/__admin/...``) require when
            ``host`` is not a loopback address; ``None`` makes a random one then
            (:attr:`admin_token`). On loopback none is needed unless given.
        performance: also serve the Performance (advertising) API, with the same seed and clock,
            on a port of its own: :attr:`performance` (a
            :class:`~ozon_async.testing.PerformanceSandbox`), started and stopped with this one.
        push_url: send Ozon's push notifications there when the shop changes (a new posting, a
            status change or shipment, a cancellation, a stock update, a product import, a
            buyer's chat message), after a ``TYPE_PING`` at start; resent until answered with
            200, as Ozon does. See :attr:`pushes` and :meth:`push_settled`.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: SandboxClock | None = None,
        items: int = 100,
        rate_limit: float | None = 50.0,
        method_limits: bool = True,
        products: int = 60,
        postings: int = 300,
        warehouses: int = 4,
        returns: int = 30,
        chats: int = 12,
        task_polls: int | None = 2,
        task_seconds: float | None = 10.0,
        report_polls: int | None = 3,
        report_seconds: float | None = 30.0,
        stock_interval: float = 30.0,
        price_updates_per_hour: int = 10,
        company_id: int = 123456,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = SANDBOX_CLIENT_ID,
        api_key: str = SANDBOX_API_KEY,
        access_token: str | None = SANDBOX_ACCESS_TOKEN,
        any_key: bool = False,
        admin_token: str | None = None,
        performance: bool = False,
        push_url: str | None = None,
    ) -> None:
        self.seed = seed
        self.client_id = str(client_id)
        self.api_key = api_key
        self.access_token = access_token
        self.any_key = any_key
        self.push_url = push_url
        self.pusher: PushSender | None = None
        self.clock: SandboxClock = clock if clock is not None else ScaledClock()
        self.items = items
        self.rate_limit = rate_limit
        self.method_limits = method_limits
        self.task_polls = task_polls
        self.task_seconds = task_seconds
        self.report_polls = report_polls
        self.report_seconds = report_seconds
        self.stock_interval = stock_interval
        self.price_updates_per_hour = price_updates_per_hour
        self.company_id = company_id
        self.host = host
        #: what ``Authorization: Bearer ...`` the admin endpoints need (``None``: no token)
        self.admin_token: str | None = _admin_token(admin_token, host)
        self.port = port
        self.requests: list[RecordedRequest] = []
        self._faults: dict[str, list[Fault]] = {}
        self._windows: dict[str, deque[float]] = {}
        self._init_routes()
        # The seeded history ends at the hour the sandbox starts: same seed, same hour, same shop.
        self.anchor = float(int(self.clock.now()) // 3600 * 3600)
        self.state = ShopState(
            seed,
            self.anchor,
            products=products,
            postings=postings,
            warehouses=warehouses,
            returns=returns,
            chats=chats,
        )
        self._seed_history()
        self._pools = self.state.pools()
        self._generic_items: dict[str, list[Any]] = {}
        self._ids: dict[str, random.Random] = {}
        self._runner: web.AppRunner | None = None
        self.app = self._make_app()
        #: the Performance API's sandbox (``performance=True``), else ``None``
        self.performance: PerformanceSandbox | None = (
            _performance_sandbox(seed, self.clock, host) if performance else None
        )

    # ------------------------------------------------------------------ lifecycle
    def _init_routes(self) -> None:
        """The spec's paths (with patterns for those with {parameters}), faker and examples."""
        self._spec = load_spec()
        self._paths: dict[str, dict[str, Any]] = self._spec["paths"]
        #: paths with {parameters}, as (pattern, template)
        self._templates: list[tuple[re.Pattern[str], str]] = [
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(p)) + "$"), p)
            for p in self._paths
            if "{" in p
        ]
        self.faker = d.SchemaFaker(self._spec)
        self._examples = _spec_examples()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> Sandbox:
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = int(self._runner.addresses[0][1])
        if self.performance is not None:
            await self.performance.start()
        if self.push_url and self.pusher is None:
            from ozon_async.testing._push import PushSender

            self.pusher = PushSender(self.push_url, self.clock)
            await self.pusher.start()
        return self

    async def stop(self) -> None:
        if self.pusher is not None:
            await self.pusher.stop()
            self.pusher = None
        if self.performance is not None:
            await self.performance.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    def client(self, **options: Any) -> OzonClient:
        """An :class:`~ozon_async.OzonClient` pointed at this sandbox with its credentials, its
        clock and a rate limiter of its own on that clock (so that waits for Ozon's rules run on
        sandbox time); ``options`` go to the client (``rate_limit=None``, ``max_retries=0``...).
        """
        from ozon_async._client import OzonClient
        from ozon_async._ratelimit import InProcessRateLimiter

        options.setdefault("clock", self.clock)
        options.setdefault("limiter", InProcessRateLimiter(clock=options["clock"]))
        return OzonClient(self.client_id, self.api_key, base_url=self.url, **options)

    def credentials_text(self) -> str:
        """What the sandbox accepts, for people: printed by ``python -m ozon_async.testing``."""
        if self.any_key:
            return "any Client-Id and Api-Key (or bearer token) is accepted"
        text = f"Client-Id {self.client_id}, Api-Key {self.api_key}"
        if self.access_token:
            text += f" (or OAuth token {self.access_token})"
        return text

    def _authorized(self, request: web.Request) -> bool:
        if self.any_key:
            return True
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return self.access_token is not None and hmac.compare_digest(
                token.strip(), self.access_token
            )
        return request.headers.get("Client-Id") == self.client_id and hmac.compare_digest(
            request.headers.get("Api-Key", ""), self.api_key
        )

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ push notifications
    def push(self, event: dict[str, Any]) -> None:
        """Send a push notification to ``push_url`` (nothing without one)."""
        if self.pusher is not None:
            self.pusher.send(event)

    @property
    def pushes(self) -> list[Any]:
        """The push notifications sent (:class:`~ozon_async.testing._push.PushDelivery`: body,
        attempts, delivered)."""
        return list(self.pusher.deliveries) if self.pusher is not None else []

    async def push_settled(self, timeout: float = 30.0) -> None:
        """Wait until every push sent so far was delivered (or given up on)."""
        if self.pusher is not None:
            await self.pusher.settle(timeout)

    def place_order(self, offer_ids: list[str], quantity: int = 1) -> str:
        """A buyer orders the products ``offer_ids``: a new FBS posting (awaiting packaging) and
        ``TYPE_NEW_POSTING``. Returns the posting number."""
        from ozon_async.testing._push import place_order

        items = []
        for offer in offer_ids:
            p = self.state.product_by(offer_id=offer)
            if p is None:
                raise ValueError(f"offer {offer} not found")
            items.append((p, quantity))
        return place_order(self, items).posting_number

    def buyer_message(self, chat_id: str, text: str) -> int:
        """A buyer writes in a chat: ``TYPE_NEW_MESSAGE``. Returns the message id."""
        from ozon_async.testing._push import buyer_writes

        return int(buyer_writes(self, chat_id, text)["message_id"])

    # ------------------------------------------------------------------ test controls
    def now(self) -> float:
        """Sandbox time, epoch seconds."""
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Move sandbox time forward (only with a :class:`ManualClock`)."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs Sandbox(clock=ManualClock())")
        self.clock.advance(seconds)

    def add_fault(self, path: str, fault: Fault | None = None, /, **kwargs: Any) -> Fault:
        """Inject a fault into an operation (by path): ``sandbox.add_fault("/v2/products/stocks",
        status=503)``. Faults queue up and each applies to ``times`` requests."""
        f = fault or Fault(**kwargs)
        self._faults.setdefault(path, []).append(f)
        return f

    def clear_faults(self) -> None:
        self._faults.clear()

    def reset(self) -> None:
        """Forget faults, recorded requests and rate-limit windows (the shop keeps its state)."""
        self._faults.clear()
        self.requests.clear()
        self._windows.clear()

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def pools(self) -> dict[str, list[Any]]:
        """Identifiers that exist in the shop now, by request field name; ``posting:<status>``
        lists the postings in that status."""
        pools = self.state.pools()
        for p in self.state.postings.values():
            pools.setdefault(f"posting:{p.status}", []).append(p.posting_number)
        pools["task_id"] = sorted(self.state.tasks)
        pools["label_task_id"] = sorted(self.state.label_tasks)
        pools["report_code"] = sorted(self.state.reports)
        pools["chat:open"] = [
            c.chat_id for c in self.state.chats.values() if c.chat_status == "Opened"
        ]
        return pools

    def example_request(self, key: str) -> dict[str, Any]:
        """The spec's request example for ``"METHOD /path"`` with its identifiers replaced by ones
        that exist in this shop (postings in the status the operation needs, and so on), so that
        sending it succeeds."""
        method, path = key.split(" ", 1)
        spec_op = self._paths[path][method.lower()]
        content = spec_op.get("requestBody", {}).get("content", {})
        media: dict[str, Any] = next(iter(content.values()), {})
        example = copy.deepcopy(media.get("example", {}))
        if not isinstance(example, dict):
            return {}
        for prm in spec_op.get("parameters") or []:  # path parameters are arguments too
            if prm.get("in") == "path":
                example[prm["name"]] = prm.get("example", prm.get("schema", {}).get("example"))
        if "multipart/form-data" in content:  # files: the example's text as the file's bytes
            op = _catalog.operations(_catalog.SELLER).get(key)
            if op is not None and op.request_type is not None:
                import typing

                rt = op.request_type
                hints = typing.get_type_hints(rt)
                wire = dict(zip(rt.__struct_encode_fields__, rt.__struct_fields__, strict=True))
                for name, value in list(example.items()):
                    if "bytes" in str(hints.get(wire.get(name, ""), "")):
                        example[name] = (
                            [str(v).encode() for v in value]
                            if isinstance(value, list)
                            else str(value).encode()
                        )
        pools = self.pools()
        needs = NEEDS.get(key, {})
        rng = random.Random(f"{self.seed}:example:{key}")

        def pick(k: str, old: Any) -> Any:
            pool = pools.get(needs[k]) if k in needs else pools.get(k) or pools.get(d.singular(k))
            if not pool:
                return old
            new = rng.choice(pool)
            if isinstance(old, str) and not isinstance(new, str):
                return str(new)
            if isinstance(old, int) and isinstance(new, str) and not new.isdigit():
                return old
            return int(new) if isinstance(old, int) and not isinstance(old, bool) else new

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    if k in needs or k in pools or d.singular(k) in pools:
                        if isinstance(v, list):
                            node[k] = [
                                pick(k, x) for x in v if not isinstance(x, (dict, list))
                            ] or v
                        elif not isinstance(v, dict):
                            node[k] = pick(k, v)
                    walk(node[k])
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(example)
        pagination = spec_op.get("x-ozon-pagination")
        if pagination and pagination["position"] in example:  # the first page
            old = example[pagination["position"]]
            # a cursor or last id starts empty; an offset or page number (which Ozon's examples
            # sometimes give as numeric strings) starts at its default
            if isinstance(old, str) and pagination["style"] in ("cursor", "last_id"):
                example[pagination["position"]] = ""
            else:
                del example[pagination["position"]]
        prepare = PREPARE.get(key)
        if prepare is not None:
            prepare(self, example)
        return example

    # ------------------------------------------------------------------ helpers for handlers
    def next_id(self, kind: str, low: int, high: int) -> int:
        rng = self._ids.setdefault(kind, random.Random(f"{self.seed}:{kind}"))
        return rng.randint(low, high)

    def context(self, seed_key: str, body: Any = None) -> d.GenContext:
        since, to = d.answer_range(body, self.anchor) if body is not None else (None, None)
        return d.GenContext(
            rng=random.Random(f"{self.seed}|{seed_key}"),
            now=self.anchor,
            since=since,
            to=to,
            pools=self._pools,
            echo=d.request_echo(body) if body is not None else {},
            examples=self._examples,
        )

    def fit(self, value: Any, schema: Any, seed_key: str) -> Any:
        """``value`` shaped to ``schema``; generated extras are seeded by ``seed_key``."""
        return self.faker.fit(value, schema, self.context(f"fit|{seed_key}"))

    def task_is_done(self, task: ImportTask, now: float) -> bool:
        by_polls = self.task_polls is not None and task.polls >= self.task_polls
        by_time = self.task_seconds is not None and now - task.created_at >= self.task_seconds
        return by_polls or by_time

    def report_status(self, r: Report, now: float) -> str:
        """``waiting``, ``processing`` or ``success``; the file is frozen when it turns success."""
        if r.done_at is not None:
            return "success"
        stage = 0
        if self.report_polls is not None:
            stage = max(stage, 0 if r.polls <= 1 else 1 if r.polls < self.report_polls else 2)
        if self.report_seconds is not None:
            elapsed = now - r.created_at
            stage = max(
                stage,
                0
                if elapsed < self.report_seconds / 3
                else 1
                if elapsed < self.report_seconds
                else 2,
            )
        if stage == 2:
            r.done_at = now
            r.content = build_report(self.state, r)
            return "success"
        return "processing" if stage == 1 else "waiting"

    def report_file(self, code: str) -> bytes | None:
        """The bytes of a finished report, or ``None``."""
        r = self.state.reports.get(code)
        if r is None or r.content is None:
            return None
        return r.content

    def _seed_history(self) -> None:
        """A few reports and an import task the shop made before the sandbox started."""
        state = self.state
        rng = random.Random(f"{self.seed}:history")
        history: list[tuple[str, dict[str, Any]]] = [
            ("/v1/report/products/create", {"visibility": "ALL", "language": "DEFAULT"}),
            (
                "/v1/report/postings/create",
                {
                    "filter": {
                        "processed_at_from": d.iso(self.anchor - 7 * 86400),
                        "processed_at_to": d.iso(self.anchor),
                    },
                    "language": "DEFAULT",
                },
            ),
        ]
        for i, (path, body) in enumerate(history):
            rtype = report_type_for(path) or "SELLER_PRODUCTS"
            created = self.anchor - (3 - i) * 86400
            code = f"REPORT_{rtype.lower()}_{self.company_id}_{int(created)}_{d.ozon_uuid(rng)}"
            r = Report(code, rtype, created, body)
            state.reports[code] = r
            r.done_at = created + 60
            r.content = build_report(state, r)
        task_id = rng.randint(10**9, 4 * 10**9)
        some = sorted(state.products.values(), key=lambda p: p.product_id)[:2]
        items = [
            {
                "offer_id": p.offer_id,
                "name": p.name,
                "price": p.price,
                "description_category_id": p.description_category_id,
            }
            for p in some
        ]
        task = ImportTask(
            task_id,
            self.anchor - 86400,
            items,
            [
                {
                    "offer_id": p.offer_id,
                    "errors": [],
                    "status": "imported",
                    "product_id": p.product_id,
                }
                for p in some
            ],
        )
        task.done = True
        state.tasks[task_id] = task
        seed_label_tasks(self, rng)

    # ------------------------------------------------------------------ pagination
    def paginate(
        self,
        spec_op: Mapping[str, Any],
        body: Mapping[str, Any],
        items: list[Any],
        answer: dict[str, Any],
        render: Callable[[Any], Any] | None = None,
    ) -> dict[str, Any]:
        """Cut ``items`` into the page the request asks for, the way the operation's
        ``x-ozon-pagination`` says, and write the page and its markers into ``answer``."""
        p = spec_op.get("x-ozon-pagination")
        if not p:
            return answer
        limit = body.get(p["limit"]) if p.get("limit") else None
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        if not isinstance(limit, int) or limit <= 0:
            limit = 100
        position = body.get(p["position"])
        style = p["style"]
        if style == "offset":
            start = int(position or 0)
        elif style == "page":
            first = p.get("first_page", 1)
            start = (int(position if position is not None else first) - first) * limit
        elif p.get("next_from_item"):
            fld = p["next_from_item"]
            last = int(position or 0) if str(position or "0").lstrip("-").isdigit() else 0
            start = (
                next((i for i, it in enumerate(items) if int(it.get(fld) or 0) > last), len(items))
                if last
                else 0
            )
        else:
            start = _decode_cursor(position, p["position"])
        start = max(0, start)
        chunk = items[start : start + limit]
        end = start + len(chunk)
        more = end < len(items)
        page = [render(x) for x in chunk] if render else chunk
        _set(answer, p["items"].split("."), page)
        if p.get("has_next"):
            _set(answer, p["has_next"].split("."), more)
        if p.get("total"):
            _set(answer, p["total"].split("."), len(items))
        if p.get("page_count"):
            _set(answer, p["page_count"].split("."), -(-len(items) // limit))
        if p.get("next"):
            token: Any = _encode_cursor(end) if more else ""
            schema = self._schema_at(spec_op, p["next"])
            if self.faker.kind(schema) == "integer":
                token = end if more else 0
            _set(answer, p["next"].split("."), token)
        return answer

    def _schema_at(self, spec_op: Mapping[str, Any], dotted: str) -> Any:
        media: dict[str, Any] = next(
            iter(spec_op["responses"]["200"].get("content", {}).values()), {}
        )
        schema = media.get("schema", {})
        for part in dotted.split("."):
            schema = self.faker.properties(schema).get(part, {})
        return schema

    # ------------------------------------------------------------------ app
    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", ADMIN + "/{action}", self._admin)
        app.router.add_get(FILES + "/reports/{name}", self._report_file)
        app.router.add_get(FILES + "/labels/{name}", self._label_file)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _report_file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        code, _, ext = name.rpartition(".")
        content = self.report_file(code)
        if content is None:
            return _error(404, 5, f"no report file {name}")
        ctype = {
            "csv": "text/csv; charset=utf-8",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }.get(ext, "application/octet-stream")
        return web.Response(
            body=content,
            headers={
                "Content-Type": ctype,
                "Content-Disposition": f'attachment; filename="{name}"',
            },
        )

    async def _label_file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        content = label_file(self, name)
        if content is None:
            return _error(404, 5, f"no label file {name}")
        return web.Response(
            body=content,
            headers={
                "Content-Type": "application/pdf",
                "Content-Disposition": f'attachment; filename="{name}"',
            },
        )

    # ------------------------------------------------------------------ admin
    def _admin_refusal(self, request: web.Request) -> web.Response | None:
        """Why an admin request is refused (see :data:`ADMIN_RULES`), or ``None``."""
        if request.method != "POST":
            return web.json_response(
                {"code": 3, "message": "admin endpoints take POST only", "details": []},
                status=405,
                headers={"Allow": "POST"},
            )
        if request.content_type != "application/json":
            return _error(415, 3, "admin endpoints take Content-Type: application/json")
        host = _host_of(request.headers.get("Host", ""))
        origin = request.headers.get("Origin")
        allowed = self._admin_hosts()
        if host is None or not (host in allowed or (self._wildcard() and _is_ip(host))):
            return _error(421, 3, "admin endpoints answer only to this machine's own addresses")
        if origin is not None:
            origin_host = _host_of(origin.partition("://")[2]) if "://" in origin else None
            if origin_host is None or not (
                origin_host in allowed or (self._wildcard() and _is_ip(origin_host))
            ):
                return _error(403, 7, "admin endpoints refuse requests from web pages")
        if self.admin_token is not None:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, f"Bearer {self.admin_token}".encode()):
                return _error(
                    401, 16, "admin endpoints need Authorization: Bearer <the admin token>"
                )
        return None

    def _wildcard(self) -> bool:
        return self.host in ("", "0.0.0.0", "::")

    def _admin_hosts(self) -> set[str]:
        hosts = {"localhost", "127.0.0.1", "::1"}
        if not self._wildcard():
            hosts.add(_host_of(self.host) or self.host)
        return hosts

    async def _admin(self, request: web.Request) -> web.StreamResponse:
        refused = self._admin_refusal(request)
        if refused is not None:
            return refused
        action = request.match_info["action"]
        raw = await request.read()
        try:
            data = json.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, 3, f"the body is not JSON: {exc}")
        if not isinstance(data, dict):
            return _error(400, 3, "the body must be a JSON object")
        try:
            return self._admin_action(action, data)
        except _AdminInputError as exc:
            return _error(400, 3, f"{action}: {exc}")

    def _admin_action(self, action: str, data: dict[str, Any]) -> web.StreamResponse:
        """``POST /_admin/<action>``: one method per action."""
        actions: dict[str, Callable[[dict[str, Any]], web.StreamResponse]] = {
            "faults": self._admin_faults,
            "clear_faults": self._admin_clear_faults,
            "requests": self._admin_requests,
            "reset": self._admin_reset,
            "clock": self._admin_clock,
            "state": self._admin_state,
            "order": self._admin_order,
            "message": self._admin_message,
        }
        act = actions.get(action)
        if act is None:
            return _error(404, 5, f"unknown admin action {action}; actions: {', '.join(actions)}")
        return act(data)

    def _admin_faults(self, data: dict[str, Any]) -> web.StreamResponse:
        path = data.pop("path", None)
        if not isinstance(path, str) or not path.startswith("/"):
            raise _AdminInputError(
                '"path" must be the operation\'s path, e.g. "/v2/products/stocks"'
            )
        fields = {f for f in Fault.__dataclass_fields__ if not f.startswith("_")}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise _AdminInputError(
                f"unknown fields {unknown}; a fault takes path and {', '.join(sorted(fields))}"
            )
        try:
            fault = Fault(**data)
            _check_fault(fault)
        except (TypeError, ValueError) as exc:
            raise _AdminInputError(str(exc)) from None
        self.add_fault(path, fault)
        return web.json_response({"ok": True})

    def _admin_clear_faults(self, data: dict[str, Any]) -> web.StreamResponse:
        self.clear_faults()
        return web.json_response({"ok": True})

    def _admin_requests(self, data: dict[str, Any]) -> web.StreamResponse:
        return web.json_response(
            [
                {
                    "method": r.method,
                    "path": r.path,
                    "raw_path": r.raw_path,
                    "headers": r.headers,
                    "body": r.body,
                    "at": r.at,
                }
                for r in self.requests
            ],
            dumps=_json_text,  # uploaded files (bytes) as base64
        )

    def _admin_reset(self, data: dict[str, Any]) -> web.StreamResponse:
        self.reset()
        return web.json_response({"ok": True})

    def _admin_order(self, data: dict[str, Any]) -> web.StreamResponse:
        # a buyer orders (TYPE_NEW_POSTING to push_url)
        offers, quantity = data.get("offer_ids"), data.get("quantity", 1)
        if not isinstance(offers, list) or not all(isinstance(o, str) for o in offers):
            raise _AdminInputError('"offer_ids" must be a list of offer ids')
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise _AdminInputError('"quantity" must be a whole number, 1 or more')
        try:
            return web.json_response({"posting_number": self.place_order(offers, quantity)})
        except ValueError as exc:
            raise _AdminInputError(str(exc)) from None

    def _admin_message(self, data: dict[str, Any]) -> web.StreamResponse:
        # a buyer writes in a chat (TYPE_NEW_MESSAGE to push_url)
        chat_id, text = data.get("chat_id"), data.get("text")
        if not isinstance(chat_id, str) or not isinstance(text, str):
            raise _AdminInputError('"chat_id" and "text" must be strings')
        try:
            return web.json_response({"message_id": self.buyer_message(chat_id, text)})
        except ValueError as exc:
            raise _AdminInputError(str(exc)) from None

    def _admin_clock(self, data: dict[str, Any]) -> web.StreamResponse:
        unknown = sorted(set(data) - {"advance"})
        if unknown:
            raise _AdminInputError(f"unknown fields {unknown}; clock takes advance (seconds)")
        if "advance" in data:
            step = data["advance"]
            if (
                isinstance(step, bool)
                or not isinstance(step, (int, float))
                or not (0 <= step < 1e10)
            ):
                raise _AdminInputError('"advance" must be a number of seconds, 0 or more')
            try:
                self.advance(float(step))
            except TypeError as exc:
                return _error(409, 9, str(exc))
        return web.json_response({"now": d.iso(self.now()), "epoch": self.now()})

    def _admin_state(self, data: dict[str, Any]) -> web.StreamResponse:
        s = self.state
        statuses: dict[str, int] = {}
        for p in s.postings.values():
            statuses[p.status] = statuses.get(p.status, 0) + 1
        return web.json_response(
            {
                "seed": self.seed,
                "warehouses": len(s.warehouses),
                "products": len(s.products),
                "postings": statuses,
                "returns": len(s.returns),
                "chats": len(s.chats),
                "reports": len(s.reports),
                "import_tasks": len(s.tasks),
            }
        )

    def _take_fault(self, path: str) -> Fault | None:
        return take_fault(self._faults.get(path), self.clock.now())

    def _limited(self, key: str, requests: float, period: float) -> bool:
        now = self.clock.now()
        window = self._windows.setdefault(key, deque())
        while window and now - window[0] >= period:
            window.popleft()
        if len(window) >= requests:
            return True
        window.append(now)
        return False

    def _template(self, raw_path: str) -> str:
        """The spec path that ``raw_path`` is an instance of (itself when it has no parameters)."""
        from urllib.parse import unquote

        path: str = unquote(raw_path)
        if path in self._paths:
            return path
        for pattern, template in self._templates:
            if pattern.match(raw_path):
                return template
        return path

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """One request through the stages: fault injection, recording, routing, auth, limits,
        validation and dispatch. Each stage answers to stop the request there, or None."""
        path = self._template(request.rel_url.raw_path)  # %2F inside a parameter stays put
        item = self._paths.get(path)
        fault = self._take_fault(path) if item is not None else None
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.drop == "before_read":
            return drop_connection(request)
        body, decoded = await self._record(request, path)
        if fault is not None and fault.drop == "after_read":
            return drop_connection(request)
        if item is None:
            return _error(404, 5, f"unknown method {path}")
        spec_op = item.get(request.method.lower())
        if spec_op is None:
            return _error(405, 12, f"method {request.method} is not allowed for {path}")
        who = _identity(request)
        if who is None:
            return _error(
                401, 16, "Client-Id and Api-Key headers (or an OAuth bearer token) are required"
            )
        if not self._authorized(request):
            return _error(401, 16, INVALID_KEY_MESSAGE)
        if self._over_limits(who, path, spec_op):
            return web.json_response(RATE_LIMIT_BODY, status=429)
        if fault is not None:
            return fault_response(fault)
        key = f"{request.method} {path}"
        op = _catalog.operations(_catalog.SELLER).get(key)
        if request.method != "GET":
            problem = self._invalid(op, spec_op, body, decoded)
            if problem:
                return _error(400, 3, problem)
        return self._dispatch(key, op, spec_op, body)

    async def _record(self, request: web.Request, path: str) -> tuple[Any, bool]:
        """Read the body (JSON or multipart; else its text), record the request and return
        (body, whether it decoded)."""
        raw = await request.read()
        headers = {k: _mask(k, v) for k, v in request.headers.items()}
        body: Any
        try:
            if request.content_type == "multipart/form-data":
                body = _multipart_fields(raw, request.headers["Content-Type"])
            else:
                body = msgspec.json.decode(raw) if raw else None
            decoded = True
        except (msgspec.DecodeError, ValueError):
            body, decoded = raw.decode("utf-8", "replace"), False
        client_id = request.headers.get("Client-Id")
        self.requests.append(
            RecordedRequest(
                request.method,
                path,
                headers,
                body,
                client_id,
                self.clock.now(),
                request.rel_url.raw_path,
            )
        )
        return body, decoded

    def _over_limits(self, who: str, path: str, spec_op: Mapping[str, Any]) -> bool:
        """The operation's own limit (with ``method_limits``), then the global one per caller."""
        limit = spec_op.get("x-ozon-rate-limit")
        if (
            self.method_limits
            and limit
            and self._limited(f"{who} {path}", limit["requests"], limit["period"])
        ):
            return True
        return self.rate_limit is not None and self._limited(who, self.rate_limit, 1.0)

    def _invalid(
        self, op: Operation | None, spec_op: Mapping[str, Any], body: Any, decoded: bool
    ) -> str | None:
        """What is wrong with a request's body (the request model's rules, then batch sizes)."""
        if not decoded:
            return "the request body is not valid JSON or multipart"
        return _validate(op, _typed_form(op, body)) or self._check_limits(spec_op, body)

    def _dispatch(
        self, key: str, op: Operation | None, spec_op: dict[str, Any], body: Any
    ) -> web.StreamResponse:
        """The handler's (or the generated) answer, or Ozon's error answer."""
        try:
            answer = self._answer(key, spec_op, body if isinstance(body, dict) else {})
        except SandboxError as exc:
            return web.json_response(exc.body(), status=exc.status)
        if isinstance(answer, bytes):
            ctype = op.response_content_type if op is not None else "application/pdf"
            return web.Response(body=answer, content_type=ctype)
        return web.Response(body=msgspec.json.encode(answer), content_type="application/json")

    def _check_limits(self, spec_op: Mapping[str, Any], body: Any) -> str | None:
        """Batch sizes (``maxItems``) of the request schema, named by field."""
        media = spec_op.get("requestBody", {}).get("content", {}).get("application/json", {})
        return self._walk_limits(media.get("schema", {}), body, "", 0)

    def _walk_limits(self, schema: Any, value: Any, where: str, depth: int) -> str | None:
        if depth > 8:
            return None
        s = self.faker.resolve(schema)
        if isinstance(value, list):
            top = s.get("maxItems")
            if isinstance(top, int) and len(value) > top:
                return f"{where or 'body'}: at most {top} items per request, got {len(value)}"
            for i, v in enumerate(value[:1000]):
                problem = self._walk_limits(s.get("items", {}), v, f"{where}[{i}]", depth + 1)
                if problem:
                    return problem
        elif isinstance(value, dict):
            props = s.get("properties", {})
            for k, v in value.items():
                if k in props:
                    problem = self._walk_limits(
                        props[k], v, f"{where}.{k}" if where else k, depth + 1
                    )
                    if problem:
                        return problem
        return None

    def _answer(self, key: str, spec_op: dict[str, Any], body: dict[str, Any]) -> Any:
        now = self.clock.now()
        path = key.split(" ", 1)[1]
        handler = HANDLERS.get(key)
        if handler is None and report_type_for(path) and not spec_op.get("x-ozon-safe"):
            handler = create_report
        self._settle(now)
        call = Call(self, key, spec_op, body, now)
        if handler is not None:
            answer = handler(call)
            if isinstance(answer, bytes):
                return answer
            self._pools = self.state.pools()
            ctx = self.context(f"{key}|{_canonical(body)}", body)
            return self.faker.fit(answer, call.response_schema(), ctx)
        return self._generated(call)

    def _settle(self, now: float) -> None:
        """Finish the import tasks whose time has come, whether or not anyone asked."""
        for task in self.state.tasks.values():
            if (
                not task.done
                and self.task_seconds is not None
                and now - task.created_at >= self.task_seconds
            ):
                finish_import(self, task, now)

    def _generated(self, call: Call) -> Any:
        """An answer made from the operation's response schema (no state behind it)."""
        content = call.spec_op["responses"]["200"].get("content", {})
        ctype = next(iter(content), "application/json")
        if ctype != "application/json":
            lines = [f"{k}: {v}" for k, v in sorted(d.request_echo(call.body).items())]
            if ctype == "image/png":
                return png_bytes(" ".join([call.path, *lines]))
            return pdf_bytes([["OZON", call.path, *lines]])
        ctx = self.context(f"{call.key}|{_canonical(call.body)}", call.body)
        schema = call.response_schema()
        answer = self.faker.generate(schema, ctx)
        p = call.spec_op.get("x-ozon-pagination")
        if p and isinstance(answer, dict):
            items = self._generic_list(call, p)
            answer = self.paginate(call.spec_op, call.body, items, answer)
        return answer

    def _generic_list(self, call: Call, p: Mapping[str, Any]) -> list[Any]:
        items = self._generic_items.get(call.key)
        if items is not None:
            return items
        schema = call.schema_at(p["items"])
        ctx = self.context(f"{call.key}|items")
        items = [self.faker.generate(schema, ctx) for _ in range(self.items)]
        fld = p.get("next_from_item")
        if fld:
            base = 10**8 + ctx.rng.randint(0, 10**6)
            for i, it in enumerate(items):
                if isinstance(it, dict):
                    it[fld] = base + (i + 1) * 17
        self._generic_items[call.key] = items
        return items


class MockOzonServer(Sandbox):
    """The former name of :class:`Sandbox`, kept for existing tests: the same server."""


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sandbox:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(token: Any, name: str) -> int:
    if token in (None, "", 0, "0"):
        return 0
    try:
        text = base64.urlsafe_b64decode(str(token) + "=" * (-len(str(token)) % 4)).decode()
        prefix, _, offset = text.partition(":")
        if prefix == "sandbox" and offset.isdigit():
            return int(offset)
    except (ValueError, UnicodeDecodeError):
        pass
    raise SandboxError(
        400, 3, f"{name}: invalid value {token!r}; pass the value of the previous answer"
    )


def _admin_token(given: str | None, host: str) -> str | None:
    """The admin endpoints' token: the one given, or a random one off loopback."""
    if given is None and not _is_loopback(host):
        import secrets

        return secrets.token_urlsafe(24)
    return given


def _performance_sandbox(seed: int, clock: SandboxClock, host: str) -> PerformanceSandbox:
    """The Performance API's sandbox beside this one (same seed and clock)."""
    from ozon_async.testing._performance import PerformanceSandbox

    return PerformanceSandbox(seed=seed, clock=clock, host=host)


def _identity(request: web.Request) -> str | None:
    """Who is calling: the Client-Id with its Api-Key, or an OAuth bearer token (hashed)."""
    client_id = request.headers.get("Client-Id")
    if client_id and request.headers.get("Api-Key"):
        return f"client:{client_id}"
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:16]
    return None


def _mask(name: str, value: str) -> str:
    low = name.lower()
    if low == "api-key":
        return "***"
    if low == "authorization":
        scheme = value.split(" ", 1)[0]
        return f"{scheme} ***"
    return value


def _json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _multipart_fields(raw: bytes, content_type: str) -> dict[str, Any]:
    """The fields of a multipart/form-data body: text values as str, files as bytes, a name
    given several times as a list."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    if not message.is_multipart():
        raise ValueError("not a multipart body")
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("a multipart part without a name")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        value: Any = data if part.get_filename() is not None else data.decode("utf-8")
        if name in fields:
            old = fields[name]
            fields[name] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            fields[name] = value
    return fields


def _typed_form(op: Any, body: Any) -> Any:
    """A multipart body's fields shaped like the request model: a single value of a list field
    becomes a one-item list, and JSON text of an object field is parsed."""
    request_type = op.request_type if op is not None else None
    if request_type is None or op.request_content_type != "multipart/form-data":
        return body
    if not isinstance(body, dict):
        return body
    import typing

    hints = typing.get_type_hints(request_type)
    wire = dict(
        zip(request_type.__struct_encode_fields__, request_type.__struct_fields__, strict=True)
    )
    shaped = dict(body)
    for key, value in body.items():
        hint = str(hints.get(wire.get(key, ""), ""))
        if "list[" in hint and not isinstance(value, list):
            shaped[key] = [value]
    return shaped


def _validate(op: Any, body: Any) -> str | None:
    request_type = op.request_type if op is not None else None
    if request_type is None:
        return (
            None if body in (None, {}) or isinstance(body, dict) else "the body must be an object"
        )
    try:
        msgspec.convert(body if body is not None else {}, request_type, strict=False)
    except msgspec.ValidationError as exc:
        return f"invalid request: {exc}"
    return None


#: How the admin endpoints are protected from web pages (a link, an image, a cross-site form or
#: a DNS-rebinding page can reach a local port): POST only (405), ``Content-Type:
#: application/json`` (415; a cross-site form cannot send it without the sandbox's consent), a
#: ``Host`` naming a loopback address or the bound address (421; any IP address when bound to
#: all interfaces: a rebinding page always uses a name), no foreign ``Origin`` (403), and the
#: bearer :attr:`Sandbox.admin_token` when the sandbox does not listen on loopback only (401).
ADMIN_RULES = "POST, application/json, a local Host, the admin token off loopback"


class _AdminInputError(ValueError):
    """Malformed admin input (400 with the reason)."""


def _check_fault(f: Fault) -> None:
    if f.status is not None and (
        isinstance(f.status, bool) or not isinstance(f.status, int) or not 100 <= f.status <= 599
    ):
        raise ValueError("status must be an HTTP status, 100 to 599")
    for name in ("delay", "circuit_open_for"):
        value = getattr(f, name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 3600
        ):
            raise ValueError(f"{name} must be 0 to 3600 seconds")
    if f.times is not None and (
        isinstance(f.times, bool) or not isinstance(f.times, int) or f.times < 1
    ):
        raise ValueError("times must be a positive integer or null")
    if not isinstance(f.headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in f.headers.items()
    ):
        raise ValueError("headers must map names to strings")
    if f.body is not None and not isinstance(f.body, (dict, list, str)):
        raise ValueError("body must be a JSON object, a list or a string")
    for name in ("html", "empty"):
        if not isinstance(getattr(f, name), bool):
            raise ValueError(f"{name} must be true or false")


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_of(value: str) -> str | None:
    """The host of a ``Host`` header or an origin's ``host[:port]`` (lower case, IPv6 without
    brackets), or ``None`` when malformed."""
    text = value.strip().lower().split("/", 1)[0]
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            return None
        host = text[1:end]
    else:
        host, _, port = text.partition(":")
        if port and not port.isdigit():
            return None
    host = host.rstrip(".")
    return host or None


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message, "details": []}, status=status)
