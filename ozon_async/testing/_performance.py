"""The sandbox of the Performance API: an advertising account in memory, on its own base URL.

Built from the spec shipped in the package (``ozon_async/performance/_spec/openapi.json``), with
the same seeding and clock as :class:`~ozon_async.testing.Sandbox`: the same seed and start give
the same campaigns, products and statistics. It keeps Ozon's rules:

* ``POST /api/client/token`` exchanges client credentials for a bearer token that expires after
  ``token_lifetime`` sandbox seconds; other calls without a valid token are answered 401.
* Campaigns switch on and off (``activate``/``deactivate``), change (``PATCH``), are created;
  products of pay-per-click campaigns and their bids are added, replaced, listed and removed;
  promotion per order is switched on and off with its bids.
* Statistics reports go ``NOT_STARTED`` → ``IN_PROGRESS`` → ``OK`` by status polls or sandbox
  time; the file is a real CSV (one campaign) or ZIP of CSVs (several), written by the spec's
  ``x-ozon-report-format``. A report started while another report of the account is still
  running is refused with 429, as Ozon refuses it; so is a report of more than 10 campaigns or
  62 days (400), and requests beyond the daily budget (429).
* Every other operation answers with data generated from its response schema.

Every request is recorded (:attr:`PerformanceSandbox.requests`, secrets masked); faults can be
injected per path like the Seller sandbox's.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import json
import random
import re
import secrets
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, unquote

import msgspec
from aiohttp import web

from ozon_async import _catalog
from ozon_async.testing import _data as d
from ozon_async.testing._clock import ManualClock, SandboxClock, ScaledClock
from ozon_async.testing._faults import (
    Fault,
    RecordedRequest,
    drop_connection,
    fault_response,
    take_fault,
)

__all__ = ["PerformanceSandbox"]

MSK = timezone(timedelta(hours=3))
#: The answer to a report started while another one of the account runs.
EXPORT_BUSY = "the account already has an active statistics request; wait until it completes"


def load_spec() -> dict[str, Any]:
    """The packaged Performance spec, read once by the catalogue (callers must not change it)."""
    return _catalog.spec(_catalog.PERFORMANCE)


#: The columns of a campaign's statistics CSV (Ozon's Russian headers), before ``День``.
_REPORT_HEADER = (
    "sku",
    "Название товара",
    "Цена товара, ₽",
    "Показы",
    "Клики",
    "CTR (%)",
    "В корзину",
    "Ср. цена клика, ₽",
    "Расход, ₽, с НДС",
    "Заказы",
    "Выручка, ₽",
    "Заказы модели",
    "Выручка с заказов модели, ₽",
    "ДРР, %",
)


class SandboxError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Campaign:
    id: int
    title: str
    adv_object_type: str
    payment_type: str
    state: str
    from_date: str
    to_date: str
    weekly_budget: int
    placement: str
    strategy: str
    created_at: float
    updated_at: float
    products: dict[int, dict[str, Any]] = field(default_factory=dict)  # sku -> bid entry


@dataclass
class Export:
    uuid: str
    account: str
    kind: str
    path: str
    request: dict[str, Any]
    campaigns: list[int]
    date_from: date
    date_to: date
    group_by: str
    created_at: float
    updated_at: float
    polls: int = 0
    state: str = "NOT_STARTED"
    content: bytes | None = None
    content_type: str = "text/csv"
    vendor: bool = False


class PerformanceSandbox:
    """A local advertising account behind the Performance API. Use :meth:`start`/:meth:`stop`
    (or ``async with``), then point an :class:`~ozon_async.performance.OzonPerformanceClient`
    at :attr:`url` with any client id and secret (or the ones given in ``credentials``).

    Args:
        seed: the account's seed (same seed and clock start: same account and figures).
        clock: sandbox time (:class:`ManualClock` for tests, :class:`ScaledClock` to run faster);
            give the client the same clock so that token expiry and polling agree.
        campaigns: how many campaigns the account has.
        credentials: ``{client_id: client_secret}`` accepted by the token call; ``None`` accepts
            any non-empty pair.
        token_lifetime: seconds a token lives (Ozon: 1800).
        report_polls, report_seconds: a report turns ``IN_PROGRESS`` at its first status poll and
            ``OK`` at its ``report_polls``-th, or ``report_seconds`` after it was requested,
            whichever comes first (``None`` turns a rule off).
        daily_budget: requests per account per day (Ozon: 100,000); ``None``: off.
        host, port: where to listen; port 0 picks a free one.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: SandboxClock | None = None,
        campaigns: int = 25,
        credentials: Mapping[str, str] | None = None,
        token_lifetime: float = 1800.0,
        report_polls: int | None = 2,
        report_seconds: float | None = 20.0,
        daily_budget: int | None = 100_000,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.seed = seed
        self.clock: SandboxClock = clock if clock is not None else ScaledClock()
        self.credentials = dict(credentials) if credentials is not None else None
        self.token_lifetime = token_lifetime
        self.report_polls = report_polls
        self.report_seconds = report_seconds
        self.daily_budget = daily_budget
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        #: tokens issued: token -> (account, expires at)
        self.tokens: dict[str, tuple[str, float]] = {}
        self.exports: dict[str, Export] = {}
        #: the most reports of one account that ran at once (the rule says 1)
        self.max_concurrent_exports = 0
        #: reports refused because another one of the account ran
        self.refused_exports = 0
        self._faults: dict[str, list[Fault]] = {}
        self._counts: dict[str, list[float]] = {}
        self._spec = load_spec()
        self._paths: dict[str, dict[str, Any]] = self._spec["paths"]
        self._templates = [
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "([^/]+)", re.escape(p)) + "$"), p)
            for p in self._paths
            if "{" in p
        ]
        self.faker = d.SchemaFaker(self._spec)
        self.anchor = float(int(self.clock.now()) // 3600 * 3600)
        self.campaigns: dict[int, Campaign] = {}
        self.all_sku_promo: dict[str, Any] = {"active": False, "bid": 7}
        self.search_promo: dict[int, dict[str, Any]] = {}
        self._seed(campaigns)
        self._runner: web.AppRunner | None = None
        self.app = self._make_app()

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> PerformanceSandbox:
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

    async def __aenter__(self) -> PerformanceSandbox:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ test controls
    def now(self) -> float:
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs PerformanceSandbox(clock=ManualClock())")
        self.clock.advance(seconds)

    def add_fault(self, path: str, fault: Fault | None = None, /, **kwargs: Any) -> Fault:
        """Inject a fault into an operation by its spec path (``"/api/client/campaign"``)."""
        f = fault or Fault(**kwargs)
        self._faults.setdefault(path, []).append(f)
        return f

    def reset(self) -> None:
        self._faults.clear()
        self.requests.clear()

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def expire_tokens(self) -> None:
        """Make every token issued so far expire now (Ozon answers 401 to them)."""
        now = self.clock.now()
        self.tokens = {t: (acc, min(exp, now)) for t, (acc, exp) in self.tokens.items()}

    def campaign_ids(self) -> list[int]:
        return sorted(self.campaigns)

    # ------------------------------------------------------------------ the account
    def _seed(self, count: int) -> None:
        rng = random.Random(f"{self.seed}:performance")
        states = ["CAMPAIGN_STATE_RUNNING"] * 6 + [
            "CAMPAIGN_STATE_INACTIVE",
            "CAMPAIGN_STATE_STOPPED",
            "CAMPAIGN_STATE_PLANNED",
        ]
        base = 10_000_000 + rng.randint(0, 900_000)
        for i in range(count):
            cid = base + i * 7 + 1
            created = self.anchor - rng.randint(30, 400) * 86400
            c = Campaign(
                id=cid,
                title=f"{d.product_name(rng).split(',')[0]} — продвижение {i + 1}",
                adv_object_type="SKU",
                payment_type="CPC",
                state=rng.choice(states),
                from_date=datetime.fromtimestamp(created, MSK).date().isoformat(),
                to_date="",
                weekly_budget=rng.choice([7, 14, 21, 35]) * 1_000_000_000,
                placement=rng.choice(["PLACEMENT_SEARCH_AND_CATEGORY", "PLACEMENT_TOP_PROMOTION"]),
                strategy=rng.choice(["TARGET_BIDS", "MAX_CLICKS", "TOP_MAX_CLICKS"]),
                created_at=created,
                updated_at=created + rng.randint(0, 20) * 86400,
            )
            for _ in range(rng.randint(1, 3)):
                sku = 1_500_000_000 + rng.randint(0, 99_999_999)
                c.products[sku] = {
                    "sku": sku,
                    "title": d.product_name(rng),
                    "bid": rng.choice([15, 20, 25, 30, 40]) * 1_000_000,
                    "price": rng.randint(190, 9000),
                }
            self.campaigns[cid] = c
        for c in self.campaigns.values():
            for sku, p in c.products.items():
                self.search_promo[sku] = {
                    "sku": sku,
                    "title": p["title"],
                    "price": p["price"],
                    "bid": rng.choice([5, 7, 9]),
                    "enabled": rng.random() < 0.5,
                    "carrots": "CARROTS_STATUS_DISABLED",
                }

    def _campaign_json(self, c: Campaign) -> dict[str, Any]:
        return {
            "id": c.id,
            "paymentType": c.payment_type,
            "title": c.title,
            "state": c.state,
            "advObjectType": c.adv_object_type,
            "fromDate": c.from_date,
            "toDate": c.to_date,
            "budget": 0,
            "dailyBudget": 0,
            "weeklyBudget": c.weekly_budget,
            "placement": [c.placement],
            "productAutopilotStrategy": c.strategy,
            "createdAt": d.iso(c.created_at),
            "updatedAt": d.iso(c.updated_at),
            "productCampaignMode": "PRODUCT_CAMPAIGN_MODE_MANUAL",
            "isAutocreated": False,
            "autostopStatus": "AUTOSTOP_STATUS_NONE",
        }

    def _campaign(self, value: Any) -> Campaign:
        try:
            c = self.campaigns.get(int(value))
        except (TypeError, ValueError):
            c = None
        if c is None:
            raise SandboxError(404, f"campaign {value} not found")
        return c

    # ------------------------------------------------------------------ statistics
    def figures(self, campaign: int, sku: int, day: date) -> dict[str, Any]:
        """The figures of one product of a campaign on one day (the same for the same seed)."""
        rng = random.Random(f"{self.seed}|stat|{campaign}|{sku}|{day.isoformat()}")
        views = rng.randint(200, 4000)
        clicks = max(1, int(views * rng.uniform(0.005, 0.05)))
        cpc = round(rng.uniform(5, 40), 2)
        spend = round(clicks * cpc, 2)
        orders = rng.randint(0, max(1, clicks // 8))
        price = self.campaigns[campaign].products[sku]["price"]
        revenue = orders * price
        return {
            "views": views,
            "clicks": clicks,
            "ctr": round(clicks * 100 / views, 2),
            "to_cart": rng.randint(0, clicks),
            "avg_cpc": cpc,
            "spend": spend,
            "orders": orders,
            "revenue": float(revenue),
            "model_orders": rng.randint(0, 2),
            "model_revenue": float(rng.randint(0, 2) * price),
            "drr": round(spend * 100 / revenue, 2) if revenue else 0.0,
            "price": float(price),
        }

    def report_csv(self, e: Export, campaign: int) -> str:
        """The CSV of one campaign of a report, in the spec's ``x-ozon-report-format``."""
        c = self.campaigns[campaign]
        fmt = self._report_format()
        sep = fmt["separator"]
        dec = fmt["decimal"]

        def num(value: float) -> str:
            return f"{value:.2f}".replace(".", dec)

        title = (
            f"Кампания по продвижению товаров № {campaign}, период "
            f"{e.date_from:%d.%m.%Y}-{e.date_to:%d.%m.%Y}"
        )
        header = list(_REPORT_HEADER)
        grouped = e.group_by == "DATE"
        if grouped:
            header.insert(0, "День")
        lines = [title, sep.join(header)]
        total = {"views": 0, "clicks": 0, "spend": 0.0, "orders": 0, "revenue": 0.0}
        days = [e.date_from + timedelta(days=i) for i in range((e.date_to - e.date_from).days + 1)]
        for sku, p in sorted(c.products.items()):
            per_day = [self.figures(campaign, sku, day) for day in days]
            groups = (
                [(day, [f]) for day, f in zip(days, per_day, strict=True)]
                if grouped
                else [(None, per_day)]
            )
            for day, figs in groups:
                views = sum(f["views"] for f in figs)
                clicks = sum(f["clicks"] for f in figs)
                spend = round(sum(f["spend"] for f in figs), 2)
                orders = sum(f["orders"] for f in figs)
                revenue = sum(f["revenue"] for f in figs)
                total["views"] += views
                total["clicks"] += clicks
                total["spend"] += spend
                total["orders"] += orders
                total["revenue"] += revenue
                row = [
                    str(sku),
                    p["title"],
                    num(p["price"]),
                    str(views),
                    str(clicks),
                    num(clicks * 100 / views if views else 0),
                    str(sum(f["to_cart"] for f in figs)),
                    num(spend / clicks if clicks else 0),
                    num(spend),
                    str(orders),
                    num(revenue),
                    str(sum(f["model_orders"] for f in figs)),
                    num(sum(f["model_revenue"] for f in figs)),
                    num(spend * 100 / revenue if revenue else 0),
                ]
                if grouped:
                    assert day is not None
                    row.insert(0, f"{day:%d.%m.%Y}")
                lines.append(sep.join(_csv_field(v, sep) for v in row))
        totals = [fmt["total_label"]] + [""] * (len(header) - 1)
        at = {name: i for i, name in enumerate(header)}
        totals[at["Показы"]] = str(total["views"])
        totals[at["Клики"]] = str(total["clicks"])
        totals[at["Расход, ₽, с НДС"]] = num(total["spend"])
        totals[at["Заказы"]] = str(total["orders"])
        totals[at["Выручка, ₽"]] = num(total["revenue"])
        lines.append(sep.join(totals))
        return "\n".join(lines) + "\n"

    @functools.cache  # noqa: B019 - one sandbox, one spec
    def _report_format(self) -> dict[str, Any]:
        item = self._paths["/api/client/statistics/report"]["get"]
        fmt: dict[str, Any] = item["x-ozon-report-format"]
        return fmt

    def _build(self, e: Export) -> None:
        if len(e.campaigns) == 1:
            e.content = self.report_csv(e, e.campaigns[0]).encode()
            e.content_type = "text/csv"
            return
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
            for cid in e.campaigns:
                info = zipfile.ZipInfo(f"{cid}.csv", date_time=(2026, 1, 1, 0, 0, 0))
                archive.writestr(info, self.report_csv(e, cid).encode())
        e.content = buf.getvalue()
        e.content_type = "application/zip"

    def _advance_export(self, e: Export, poll: bool) -> None:
        now = self.clock.now()
        if e.state in ("OK", "ERROR"):
            return
        if poll:
            e.polls += 1
        stage = 0
        if self.report_polls is not None and e.polls >= 1:
            stage = 1 if e.polls < self.report_polls else 2
        if self.report_seconds is not None:
            elapsed = now - e.created_at
            stage = max(stage, 0 if elapsed < self.report_seconds / 4 else 1)
            if elapsed >= self.report_seconds:
                stage = 2
        if stage == 2:
            if e.vendor:
                e.content = b"date;source;visits\n"
            else:
                self._build(e)
            e.state = "OK"
            e.updated_at = now
        elif stage == 1 and e.state == "NOT_STARTED":
            e.state = "IN_PROGRESS"
            e.updated_at = now

    def _running(self, account: str) -> list[Export]:
        out = []
        for e in self.exports.values():
            if e.account == account and not e.vendor:
                self._advance_export(e, poll=False)
                if e.state in ("NOT_STARTED", "IN_PROGRESS"):
                    out.append(e)
        return out

    def _start_export(
        self, account: str, path: str, body: dict[str, Any], kind: str, vendor: bool = False
    ) -> dict[str, Any]:
        spec_op = self._find_op("POST", path) or self._find_op("GET", path) or {}
        rules = self._spec.get("x-ozon-export-rules", {})
        e_rule = spec_op.get("x-ozon-export") or {}
        campaigns_field = e_rule.get("campaigns")
        campaigns: list[int] = []
        if campaigns_field:
            raw = body.get(campaigns_field) or []
            if not raw:
                raise SandboxError(400, f"{campaigns_field}: at least one campaign is required")
            campaigns = [int(x) for x in raw]
            if len(campaigns) > rules.get("max_campaigns", 10):
                raise SandboxError(
                    400, f"{campaigns_field}: at most {rules.get('max_campaigns')} campaigns"
                )
            for cid in campaigns:
                self._campaign(cid)
        first, last = _period(body, e_rule, self.anchor)
        days = (last - first).days + 1
        if days > rules.get("max_days", 62) and not vendor:
            raise SandboxError(400, f"the period is {days} days; at most {rules.get('max_days')}")
        if last < first:
            raise SandboxError(400, "the period ends before it starts")
        if not vendor:
            running = self._running(account)
            if len(running) >= rules.get("concurrent", 1):
                self.refused_exports += 1
                raise SandboxError(429, EXPORT_BUSY)
        now = self.clock.now()
        rng = random.Random(f"{self.seed}|export|{len(self.exports)}")
        uuid = d.ozon_uuid(rng)
        e = Export(
            uuid=uuid,
            account=account,
            kind=kind,
            path=path,
            request=dict(body),
            campaigns=campaigns,
            date_from=first,
            date_to=last,
            group_by=str(body.get("groupBy") or "NO_GROUP_BY"),
            created_at=now,
            updated_at=now,
            vendor=vendor,
        )
        self.exports[uuid] = e
        if not vendor:
            self.max_concurrent_exports = max(
                self.max_concurrent_exports, len(self._running(account))
            )
        answer: dict[str, Any] = {"UUID": uuid}
        if vendor:
            answer["vendor"] = True
        return answer

    def _export_status(self, e: Export) -> dict[str, Any]:
        out: dict[str, Any] = {
            "UUID": e.uuid,
            "state": e.state,
            "createdAt": d.iso(e.created_at),
            "updatedAt": d.iso(e.updated_at),
            "request": {
                **{k: v for k, v in e.request.items() if k in ("dateFrom", "dateTo", "from", "to")},
                "campaigns": e.campaigns,
                "groupBy": e.group_by,
            },
            "kind": e.kind.upper() if e.kind in ("stats", "video", "attribution") else "STATS",
        }
        if e.state == "OK":
            out["link"] = f"/api/client/statistics/report?UUID={e.uuid}"
        return out

    # ------------------------------------------------------------------ the app
    def _make_app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    def _find_op(self, method: str, path: str) -> dict[str, Any] | None:
        item = self._paths.get(path)
        if item is None:
            return None
        op: dict[str, Any] | None = item.get(method.lower())
        return op

    def _template(self, raw: str) -> tuple[str, dict[str, str]]:
        path = unquote(raw)
        if path in self._paths:
            return path, {}
        for pattern, template in self._templates:
            m = pattern.match(raw)
            if m:
                names = re.findall(r"\{([^}]+)\}", template)
                return template, {n: unquote(v) for n, v in zip(names, m.groups(), strict=True)}
        return path, {}

    def _take_fault(self, path: str) -> Fault | None:
        return take_fault(self._faults.get(path), self.clock.now())

    def _count(self, account: str, exempt: bool) -> bool:
        """Count a request against the daily budget; ``False`` when it is spent."""
        if self.daily_budget is None or exempt:
            return True
        now = self.clock.now()
        window = [t for t in self._counts.get(account, []) if now - t < 86400]
        if len(window) >= self.daily_budget:
            self._counts[account] = window
            return False
        window.append(now)
        self._counts[account] = window
        return True

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path, path_args = self._template(request.rel_url.raw_path)
        fault = self._take_fault(path)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.drop == "before_read":
            return drop_connection(request)
        raw = await request.read()
        headers = {k: _mask(k, v) for k, v in request.headers.items()}
        query: dict[str, Any] = {}
        for k, v in parse_qsl(request.rel_url.query_string, keep_blank_values=True):
            query.setdefault(k, []).append(v)
        try:
            body: Any = msgspec.json.decode(raw) if raw else {}
        except msgspec.DecodeError:
            body = None
        recorded = _masked_body(body) if path == "/api/client/token" else body
        self.requests.append(
            RecordedRequest(
                request.method,
                path,
                headers,
                recorded,
                None,
                self.clock.now(),
                request.rel_url.raw_path,
            )
        )
        if fault is not None and fault.drop == "after_read":
            return drop_connection(request)
        spec_op = self._find_op(request.method, path)
        if spec_op is None:
            return _error(404, f"no method {request.method} {path}")
        if body is None or not isinstance(body, dict):
            return _error(400, "the body is not a JSON object")
        if fault is not None:
            return fault_response(fault)
        key = f"{request.method} {path}"
        try:
            if key == "POST /api/client/token":
                return _json(self._token(body))
            account = self._account(request)
            if not self._count(account, bool(spec_op.get("x-ozon-budget-exempt"))):
                return _error(429, "the daily limit of requests is exhausted")
            args = self._arguments(spec_op, query, path_args, body)
            problem = self._validate(key, args)
            if problem:
                return _error(400, problem)
            answer = self._answer(key, spec_op, account, args, path_args)
        except SandboxError as exc:
            return _error(exc.status, exc.message)
        if isinstance(answer, web.StreamResponse):
            return answer
        return _json(answer)

    def _token(self, body: dict[str, Any]) -> dict[str, Any]:
        cid = body.get("client_id")
        secret = body.get("client_secret")
        if body.get("grant_type") != "client_credentials":
            raise SandboxError(400, "grant_type must be client_credentials")
        if not isinstance(cid, str) or not cid or not isinstance(secret, str) or not secret:
            raise SandboxError(400, "client_id and client_secret are required")
        if self.credentials is not None and self.credentials.get(cid) != secret:
            raise SandboxError(401, "invalid client credentials")
        token = secrets.token_urlsafe(24)
        self.tokens[token] = (cid, self.clock.now() + self.token_lifetime)
        return {
            "access_token": token,
            "expires_in": int(self.token_lifetime),
            "token_type": "Bearer",
        }

    def _account(self, request: web.Request) -> str:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise SandboxError(401, "an Authorization: Bearer token is required")
        found = self.tokens.get(token)
        if found is None:
            # an OAuth token of an application: any other token is an account of its own
            if token.startswith("oauth-"):
                return "oauth:" + hashlib.sha256(token.encode()).hexdigest()[:12]
            raise SandboxError(401, "the token is not valid")
        account, expires = found
        if self.clock.now() >= expires:
            raise SandboxError(401, "the token has expired")
        return account

    def _arguments(
        self,
        spec_op: dict[str, Any],
        query: dict[str, list[str]],
        path_args: dict[str, str],
        body: dict[str, Any],
    ) -> dict[str, Any]:
        """The request's arguments by JSON name: query parameters (lists where the schema is a
        list), then the body."""
        out: dict[str, Any] = dict(body)
        for prm in spec_op.get("parameters") or []:
            name = prm["name"]
            if prm["in"] == "path":
                out[name] = path_args.get(name)
            elif name in query:
                values = query[name]
                schema = prm.get("schema", {})
                out[name] = values if schema.get("type") == "array" else values[-1]
        return out

    def _validate(self, key: str, args: dict[str, Any]) -> str | None:
        op = _catalog.operations(_catalog.PERFORMANCE).get(key)
        if op is None or op.request_type is None:
            return None
        payload = {k: v for k, v in args.items() if k not in op.path_params}
        try:
            msgspec.convert(payload, op.request_type, strict=False)
        except msgspec.ValidationError as exc:
            return f"invalid request: {exc}"
        return None

    # ------------------------------------------------------------------ answers
    def _answer(
        self,
        key: str,
        spec_op: dict[str, Any],
        account: str,
        args: dict[str, Any],
        path_args: dict[str, str],
    ) -> Any:
        handler = _HANDLERS.get(key)
        if handler is not None:
            return handler(self, account, args)
        export = spec_op.get("x-ozon-export")
        if export is not None:
            return self._start_export(account, key.split(" ", 1)[1], args, export.get("kind", ""))
        content: dict[str, Any] = spec_op["responses"]["200"].get("content", {})
        media: dict[str, Any] = next(iter(content.values()), {})
        schema = media.get("schema", {})
        ctx = d.GenContext(
            rng=random.Random(f"{self.seed}|{key}|{json.dumps(args, sort_keys=True, default=str)}"),
            now=self.anchor,
            pools={"sku": sorted(self.search_promo), "campaignId": self.campaign_ids()},
        )
        return self.faker.generate(schema, ctx)


# ---------------------------------------------------------------------- handlers
def _page(items: list[Any], args: Mapping[str, Any]) -> tuple[list[Any], int]:
    size = int(args.get("pageSize") or 100)
    page = int(args.get("page") or 1)
    start = max(0, (page - 1) * size)
    return items[start : start + size], len(items)


def _h_campaign_list(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    wanted = {int(x) for x in args.get("campaignIds") or []}
    items = [
        s._campaign_json(c)
        for c in sorted(s.campaigns.values(), key=lambda c: c.id)
        if (not wanted or c.id in wanted)
        and (not args.get("advObjectType") or c.adv_object_type == args["advObjectType"])
        and (args.get("state") in (None, "", "CAMPAIGN_STATE_UNKNOWN") or c.state == args["state"])
    ]
    page, _ = _page(items, args)
    return {"list": page}


def _h_objects(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    c = s._campaign(args["campaignId"])
    return {"list": [{"id": sku} for sku in sorted(c.products)]}


def _switch(state: str) -> Callable[[PerformanceSandbox, str, dict[str, Any]], Any]:
    def handler(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
        c = s._campaign(args["campaignId"])
        if c.state in ("CAMPAIGN_STATE_ARCHIVED", "CAMPAIGN_STATE_FINISHED"):
            raise SandboxError(400, f"campaign {c.id} is {c.state} and cannot change")
        c.state = state
        c.updated_at = s.clock.now()
        out = s._campaign_json(c)
        out["placement"] = c.placement
        return out

    return handler


def _h_patch(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    c = s._campaign(args["campaignId"])
    if args.get("fromDate"):
        c.from_date = str(args["fromDate"])
    if args.get("toDate"):
        c.to_date = str(args["toDate"])
    if args.get("weeklyBudget") is not None:
        c.weekly_budget = int(args["weeklyBudget"])
    c.updated_at = s.clock.now()
    return {"campaignId": c.id}


def _h_create(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    cid = max(s.campaigns) + 7
    now = s.clock.now()
    s.campaigns[cid] = Campaign(
        id=cid,
        title=str(args.get("title") or f"Кампания {cid}"),
        adv_object_type="SKU",
        payment_type="CPC",
        state="CAMPAIGN_STATE_INACTIVE",
        from_date=str(args.get("fromDate") or datetime.fromtimestamp(now, MSK).date()),
        to_date=str(args.get("toDate") or ""),
        weekly_budget=int(args.get("weeklyBudget") or 0),
        placement=str(args.get("placement") or "PLACEMENT_SEARCH_AND_CATEGORY"),
        strategy=str(args.get("productAutopilotStrategy") or "TARGET_BIDS"),
        created_at=now,
        updated_at=now,
    )
    return {"campaignId": cid}


def _h_products_add(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    c = s._campaign(args["campaignId"])
    bids = args.get("bids") or []
    if len(c.products) + len([b for b in bids if int(b["sku"]) not in c.products]) > 500:
        raise SandboxError(400, "a campaign holds at most 500 products")
    for b in bids:
        sku = int(b["sku"])
        entry = c.products.setdefault(sku, {"sku": sku, "title": f"SKU {sku}", "price": 990})
        entry["bid"] = int(b.get("bid") or 25_000_000)
    return {}


def _h_products_update(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    c = s._campaign(args["campaignId"])
    for b in args.get("bids") or []:
        sku = int(b["sku"])
        if sku not in c.products:
            raise SandboxError(400, f"product {sku} is not in campaign {c.id}")
        if b.get("bid") is not None:
            c.products[sku]["bid"] = int(b["bid"])
    return {}


def _h_products_list(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    c = s._campaign(args["campaignId"])
    items = [
        {"sku": p["sku"], "title": p["title"], "bid": p.get("bid", 0)}
        for p in sorted(c.products.values(), key=lambda p: p["sku"])
    ]
    page, _ = _page(items, args)
    return {"products": page}


def _h_products_delete(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    c = s._campaign(args["campaignId"])
    for sku in args.get("sku") or []:
        c.products.pop(int(sku), None)
    return {}


def _h_competitive(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    c = s._campaign(args["campaignId"])
    out = []
    for sku in args.get("skus") or []:
        p = c.products.get(int(sku))
        bid = 0 if p is None else int(p.get("bid", 0) * 1.1)
        out.append({"sku": str(sku), "bid": bid})
    return {"campaignId": str(c.id), "bids": out}


def _h_status(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    e = s.exports.get(str(args.get("UUID")))
    if e is None or e.vendor or e.account != account:
        raise SandboxError(404, "report not found")
    s._advance_export(e, poll=True)
    return s._export_status(e)


def _h_report(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    e = s.exports.get(str(args.get("UUID")))
    if e is None or e.account != account:
        raise SandboxError(404, "report not found")
    s._advance_export(e, poll=False)
    if e.state != "OK" or e.content is None:
        raise SandboxError(404, "report not found")
    return web.Response(body=e.content, content_type=e.content_type)


def _h_list(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    items = []
    for e in s.exports.values():
        if e.account == account and not e.vendor:
            s._advance_export(e, poll=False)
            items.append(
                {
                    "campaigns": [
                        {"id": cid, "title": s.campaigns[cid].title} for cid in e.campaigns
                    ],
                    "meta": s._export_status(e),
                    "name": f"Статистика {e.date_from}–{e.date_to}",
                }
            )
    page, total = _page(items, args)
    return {"items": page, "total": total}


def _h_vendor_submit(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    return s._start_export(account, "/api/client/vendors/statistics", args, "vendor", vendor=True)


def _h_vendor_status(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    e = s.exports.get(str(args.get("UUID")))
    if e is None or not e.vendor or e.account != account:
        raise SandboxError(404, "report not found")
    s._advance_export(e, poll=True)
    out: dict[str, Any] = {
        "UUID": e.uuid,
        "state": e.state,
        "createdAt": d.iso(e.created_at),
        "updatedAt": d.iso(e.updated_at),
        "request": {k: e.request.get(k) for k in ("dateFrom", "dateTo", "type")},
    }
    if e.state == "OK":
        out["link"] = f"/api/client/vendors/statistics/report?UUID={e.uuid}"
    return out


def _table(kind: str) -> Callable[[PerformanceSandbox, str, dict[str, Any]], Any]:
    def handler(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
        last = _day(args.get("dateTo")) or datetime.fromtimestamp(s.anchor, MSK).date()
        first = _day(args.get("dateFrom")) or last - timedelta(days=6)
        wanted = {int(x) for x in args.get("campaignIds") or []} or set(s.campaigns)
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        lines = []
        if kind == "daily":
            lines.append("ID;Название;Дата;Показы;Клики;Расход, ₽;Заказы, шт;Заказы, ₽")
        elif kind == "expense":
            lines.append(
                "ID;Дата;Название;Расход, ₽;Расход с абонентского счёта, ₽;Расход бонусов, ₽"
            )
        else:
            lines.append("ID;Название;Статус;Расход, ₽;Показы;Клики;Заказы, шт;Заказы, ₽")
        for cid in sorted(wanted & set(s.campaigns)):
            c = s.campaigns[cid]
            per_day = [[s.figures(cid, sku, day) for sku in sorted(c.products)] for day in days]
            if kind in ("daily", "expense"):
                for day, figs in zip(days, per_day, strict=True):
                    spend = sum(f["spend"] for f in figs)
                    if kind == "daily":
                        views = sum(f["views"] for f in figs)
                        clicks = sum(f["clicks"] for f in figs)
                        orders = sum(f["orders"] for f in figs)
                        revenue = sum(f["revenue"] for f in figs)
                        lines.append(
                            f"{cid};{_csv_field(c.title, ';')};{day.isoformat()};{views};"
                            f"{clicks};{_n(spend)};{orders};{_n(revenue)}"
                        )
                    else:
                        lines.append(
                            f"{cid};{day.isoformat()};{_csv_field(c.title, ';')};{_n(spend)};"
                            f"{_n(spend)};{_n(0)}"
                        )
            else:
                figs = [f for day_figs in per_day for f in day_figs]
                lines.append(
                    f"{cid};{_csv_field(c.title, ';')};{c.state};"
                    f"{_n(sum(f['spend'] for f in figs))};{sum(f['views'] for f in figs)};"
                    f"{sum(f['clicks'] for f in figs)};{sum(f['orders'] for f in figs)};"
                    f"{_n(sum(f['revenue'] for f in figs))}"
                )
        return web.Response(body=("\n".join(lines) + "\n").encode(), content_type="text/csv")

    return handler


def _h_products_sku(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    first = _day(args.get("dateFrom"))
    last = _day(args.get("dateTo")) or first
    if first is None or last is None:
        raise SandboxError(400, "dateFrom and dateTo are required")
    rows = []
    for cid in [int(x) for x in args.get("campaignIds") or []]:
        c = s._campaign(cid)
        for i in range((last - first).days + 1):
            day = first + timedelta(days=i)
            for sku in sorted(c.products):
                f = s.figures(cid, sku, day)
                rows.append(
                    {
                        "campaignId": cid,
                        "date": day.isoformat(),
                        "sku": sku,
                        "price": f"{f['price']:.2f}",
                        "views": f["views"],
                        "clicks": f["clicks"],
                        "ctr": f["ctr"],
                        "toCart": f["to_cart"],
                        "avgCpc": f"{f['avg_cpc']:.2f}",
                        "expense": f"{f['spend']:.2f}",
                        "orders": f["orders"],
                        "sales": f"{f['revenue']:.2f}",
                        "modelOrders": f["model_orders"],
                        "modelSales": f"{f['model_revenue']:.2f}",
                        "drr": f["drr"],
                    }
                )
    return {"rows": rows}


def _h_search_promo_products(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    items = [
        {
            "sku": p["sku"],
            "title": p["title"],
            "price": str(p["price"]),
            "bid": p["bid"],
            "bidPrice": f"{p['price'] * p['bid'] / 100:.2f}",
            "searchPromoStatus": p["enabled"],
            "isSearchPromoAvailable": True,
            "carrotsStatus": p["carrots"],
        }
        for p in sorted(s.search_promo.values(), key=lambda p: p["sku"])
    ]
    page, total = _page(items, args)
    return {"products": page, "total": total}


def _promo(enable: bool) -> Callable[[PerformanceSandbox, str, dict[str, Any]], Any]:
    def handler(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
        out = []
        for sku in args.get("skus") or []:
            p = s.search_promo.get(int(sku))
            if p is None:
                out.append({"sku": int(sku), "update": False, "error": "product not found"})
                continue
            p["enabled"] = enable
            out.append({"sku": p["sku"], "bid": p["bid"], "update": True, "error": ""})
        return {"response": out} if enable else {}

    return handler


def _h_set_bids(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    out = []
    for b in args.get("bids") or []:
        sku = int(b["sku"])
        p = s.search_promo.setdefault(
            sku,
            {"sku": sku, "title": f"SKU {sku}", "price": 990, "carrots": "CARROTS_STATUS_DISABLED"},
        )
        p["bid"] = b.get("bid")
        p["enabled"] = True
        out.append({"sku": sku, "bid": p["bid"], "update": True, "error": ""})
    return {"response": out}


def _h_delete_bids(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
    for sku in args.get("sku") or []:
        s.search_promo.pop(int(sku), None)
    return {}


def _h_all_sku(action: str) -> Callable[[PerformanceSandbox, str, dict[str, Any]], Any]:
    def handler(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
        if action == "activate":
            s.all_sku_promo["active"] = True
            return {"selectedBid": s.all_sku_promo["bid"]}
        if action == "deactivate":
            s.all_sku_promo["active"] = False
            return {}
        bid = int(args.get("bid") or 7)
        if bid not in (5, 7, 9):
            raise SandboxError(400, "bid must be 5, 7 or 9")
        s.all_sku_promo["bid"] = bid
        return {}

    return handler


def _carrots(enable: bool) -> Callable[[PerformanceSandbox, str, dict[str, Any]], Any]:
    def handler(s: PerformanceSandbox, account: str, args: dict[str, Any]) -> Any:
        info: dict[str, Any] = {}
        flag = "isEnabled" if enable else "isDisabled"
        for sku in args.get("skus") or []:
            p = s.search_promo.get(int(sku))
            if p is None:
                info[str(sku)] = {"error": "CARROT_ERROR_INVALID_PRODUCT", flag: False}
                continue
            p["carrots"] = "CARROTS_STATUS_ENABLED" if enable else "CARROTS_STATUS_DISABLED"
            info[str(sku)] = {"error": "CARROT_ERROR_NONE", flag: True}
        return {"skuToInfo": info}

    return handler


_HANDLERS: dict[str, Callable[[PerformanceSandbox, str, dict[str, Any]], Any]] = {
    "GET /api/client/campaign": _h_campaign_list,
    "GET /api/client/campaign/{campaignId}/objects": _h_objects,
    "POST /api/client/campaign/{campaignId}/activate": _switch("CAMPAIGN_STATE_RUNNING"),
    "POST /api/client/campaign/{campaignId}/deactivate": _switch("CAMPAIGN_STATE_INACTIVE"),
    "PATCH /api/client/campaign/{campaignId}": _h_patch,
    "POST /api/client/campaign/cpc/v2/product": _h_create,
    "POST /api/client/campaign/{campaignId}/products": _h_products_add,
    "PUT /api/client/campaign/{campaignId}/products": _h_products_update,
    "GET /api/client/campaign/{campaignId}/v2/products": _h_products_list,
    "POST /api/client/campaign/{campaignId}/products/delete": _h_products_delete,
    "GET /api/client/campaign/{campaignId}/products/bids/competitive": _h_competitive,
    "GET /api/client/statistics/{UUID}": _h_status,
    "GET /api/client/statistics/report": _h_report,
    "GET /api/client/statistics/list": _h_list,
    "GET /api/client/statistics/externallist": _h_list,
    "GET /api/client/statistics/campaign/product": _table("product"),
    "GET /api/client/statistics/campaign/media": _table("media"),
    "GET /api/client/statistics/daily": _table("daily"),
    "GET /api/client/statistics/expense": _table("expense"),
    "POST /api/client/statistics/products/sku": _h_products_sku,
    "POST /api/client/vendors/statistics": _h_vendor_submit,
    "GET /api/client/vendors/statistics/{UUID}": _h_vendor_status,
    "POST /api/client/campaign/search_promo/v2/products": _h_search_promo_products,
    "POST /api/client/search_promo/product/enable": _promo(True),
    "POST /api/client/search_promo/product/disable": _promo(False),
    "POST /api/client/campaign/search_promo/v2/bids/set": _h_set_bids,
    "POST /api/client/campaign/search_promo/v2/bids/delete": _h_delete_bids,
    "GET /api/client/campaign/all_sku_promo/activate": _h_all_sku("activate"),
    "GET /api/client/campaign/all_sku_promo/deactivate": _h_all_sku("deactivate"),
    "GET /api/client/campaign/all_sku_promo/set_bid": _h_all_sku("set_bid"),
    "POST /api/client/campaign/search_promo/carrots/enable": _carrots(True),
    "POST /api/client/campaign/search_promo/carrots/disable": _carrots(False),
}


# ---------------------------------------------------------------------- helpers
def _day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    text = str(value)
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(MSK).date()
    except ValueError:
        raise SandboxError(400, f"{text!r} is not a date") from None


def _period(body: Mapping[str, Any], rule: Mapping[str, Any], anchor: float) -> tuple[date, date]:
    """The report's days: its dates, else its instants (in Moscow time), else the last week."""
    for start, end in (
        (rule.get("date_from"), rule.get("date_to")),
        (rule.get("time_from"), rule.get("time_to")),
        ("dateFrom", "dateTo"),
    ):
        if start and end:
            first, last = _day(body.get(start)), _day(body.get(end))
            if first is not None and last is not None:
                return first, last
    last = datetime.fromtimestamp(anchor, MSK).date()
    return last - timedelta(days=6), last


def _n(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def _csv_field(value: str, sep: str) -> str:
    if sep in value or '"' in value or "\n" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _mask(name: str, value: str) -> str:
    if name.lower() == "authorization":
        return f"{value.split(' ', 1)[0]} ***"
    return value


def _masked_body(body: Any) -> Any:
    if isinstance(body, dict) and "client_secret" in body:
        return {**body, "client_secret": "***"}
    return body


def _json(value: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(value), status=status, content_type="application/json"
    )


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)
