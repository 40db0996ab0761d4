"""The Performance API client: every operation typed, the token flow on a loopback server (one
token for 50 concurrent first calls, renewal before expiry, one refresh and one resend after a
401), the secret kept out of logs, reprs and errors, the daily budget and the export rules, and
a 25-campaign, 100-day export run as compliant exports on the sandbox."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from ozon_async import (
    AuthenticationError,
    ConfigurationError,
    HookEvent,
    HTTPRequest,
    HTTPResponse,
    InProcessRateLimiter,
    MockTransport,
    RateLimitError,
    RequestBudgetExhaustedError,
    RequestValidationError,
)
from ozon_async._operation import RateLimit
from ozon_async.performance import OPERATIONS, OzonPerformanceClient
from ozon_async.testing import ManualClock, PerformanceSandbox
from tests.conftest import REFERENCE, ROOT

CLIENT_ID = "12345678-1700000000000@advertising.performance.ozon.ru"
SECRET = "perf-secret-9d2c41e7b0aa"
REFERENCE_FILE = REFERENCE / "ozon-performance-openapi-ru-2026-06.json"


@pytest.fixture(autouse=True)
def _no_performance_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "OZON_PERFORMANCE_CLIENT_ID",
        "OZON_PERFORMANCE_CLIENT_SECRET",
        "OZON_PERFORMANCE_ACCESS_TOKEN",
        "OZON_PERFORMANCE_BASE_URL",
        "OZON_RATE_LIMIT_REDIS_URL",
    ):
        monkeypatch.delenv(name, raising=False)


class Env:
    def __init__(self, sandbox: PerformanceSandbox, clock: ManualClock) -> None:
        self.sandbox = sandbox
        self.clock = clock
        self.limiter = InProcessRateLimiter(clock=clock)
        self.events: list[HookEvent] = []

    def client(self, **kwargs: Any) -> OzonPerformanceClient:
        options: dict[str, Any] = {
            "base_url": self.sandbox.url,
            "clock": self.clock,
            "limiter": self.limiter,
            "event_hooks": {"response": [self.events.append]},
        }
        options.update(kwargs)
        if "access_token" not in options and "token_provider" not in options:
            options.setdefault("client_id", CLIENT_ID)
            options.setdefault("client_secret", SECRET)
        return OzonPerformanceClient(**options)

    def statuses(self, path: str) -> list[int | None]:
        return [e.status for e in self.events if e.path.split("?")[0] == path]


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    clock = ManualClock()
    async with PerformanceSandbox(seed=3, clock=clock, campaigns=25) as sandbox:
        yield Env(sandbox, clock)


# ------------------------------------------------------------------------ every operation
def _reference_operations() -> set[str]:
    if REFERENCE_FILE.exists():
        data = json.loads(REFERENCE_FILE.read_text())
        return {
            f"{m.upper()} {p}"
            for p, item in data["paths"].items()
            for m in item
            if m in ("get", "post", "put", "patch", "delete")
        }
    kept = json.loads((ROOT / "tests" / "data" / "performance_operations.json").read_text())
    return set(kept["operations"])


def test_every_operation_of_the_reference_is_a_typed_method() -> None:
    ref = _reference_operations()
    assert len(ref) == 48
    assert ref <= set(OPERATIONS), sorted(ref - set(OPERATIONS))
    client = OzonPerformanceClient(CLIENT_ID, SECRET, base_url="http://127.0.0.1:9")
    for key in ref:
        op = OPERATIONS[key]
        method = getattr(getattr(client, op.group), op.name)
        assert method.__doc__ and f"``{key}``" in method.__doc__, key
    # and nothing beyond the reference but the token call its prose describes
    assert set(OPERATIONS) - ref == {"POST /api/client/token"}


def test_the_kept_copy_of_the_reference_operations_is_current() -> None:
    if not REFERENCE_FILE.exists():
        pytest.skip("the reference is not here")
    kept = json.loads((ROOT / "tests" / "data" / "performance_operations.json").read_text())
    assert set(kept["operations"]) == _reference_operations()


def test_codegen_is_deterministic_for_the_performance_spec(tmp_path: Path) -> None:
    import shutil

    from codegen.__main__ import generate, generated_files
    from codegen.targets import PERFORMANCE

    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        (out / PERFORMANCE.root).mkdir(parents=True)
        shutil.copy(ROOT / "pyproject.toml", out / "pyproject.toml")
        generate(ROOT / PERFORMANCE.spec, out, PERFORMANCE)
        outs.append(
            {
                str(p): (out / p).read_bytes()
                for d in PERFORMANCE.dirs
                for p in generated_files(out / d, out)
            }
        )
    committed = {
        str(p): (ROOT / p).read_bytes()
        for d in PERFORMANCE.dirs
        for p in generated_files(ROOT / d, ROOT)
    }
    assert outs[0] == outs[1] == committed


# ------------------------------------------------------------------------ tokens
async def test_fifty_concurrent_first_calls_make_one_token_request(env: Env) -> None:
    async with env.client() as client:
        pages = await asyncio.gather(*(client.campaign.list(page_size=5) for _ in range(50)))
    assert all(len(p.list_ or []) == 5 for p in pages)
    assert len(env.sandbox.requests_for("/api/client/token")) == 1
    assert client.token_requests == 1
    assert len(env.sandbox.requests_for("/api/client/campaign")) == 50


async def test_an_expiring_token_is_replaced_before_it_is_used(env: Env) -> None:
    async with env.client(token_margin=60) as client:
        await client.campaign.limits()
        env.clock.advance(1800 - 60 + 1)  # inside the renewal margin, still valid at Ozon
        await client.campaign.limits()
        env.clock.advance(1800 + 5)  # long expired
        await client.campaign.limits()
    assert client.token_requests == 3
    # no call was ever refused: each new token was fetched before the call that needed it
    assert env.statuses("/api/client/limits/list") == [200, 200, 200]
    order = [r.path for r in env.sandbox.requests]
    assert order == [
        "/api/client/token",
        "/api/client/limits/list",
        "/api/client/token",
        "/api/client/limits/list",
        "/api/client/token",
        "/api/client/limits/list",
    ]


async def test_a_401_leads_to_exactly_one_refresh_and_one_resend(env: Env) -> None:
    async with env.client() as client:
        await client.campaign.limits()
        env.sandbox.expire_tokens()  # Ozon revoked it; the client still believes it is valid
        limits = await client.campaign.limits()
        assert limits is not None
        assert env.statuses("/api/client/limits/list") == [200, 401, 200]
        assert client.token_requests == 2
        # a write is resent too: the 401 proves it was refused before it was processed
        env.sandbox.expire_tokens()
        cid = env.sandbox.campaign_ids()[0]
        await client.campaign.deactivate(campaign_id=cid)
        assert client.token_requests == 3
        assert len(env.sandbox.requests_for("/api/client/campaign/{campaignId}/deactivate")) == 2


async def test_a_second_401_is_raised_after_one_refresh(env: Env) -> None:
    async with env.client() as client:
        await client.campaign.limits()
        env.sandbox.add_fault("/api/client/limits/list", status=401, body={"error": "no"}, times=5)
        with pytest.raises(AuthenticationError):
            await client.campaign.limits()
    assert client.token_requests == 2  # one refresh, not more
    assert env.statuses("/api/client/limits/list") == [200, 401, 401]


async def test_concurrent_401s_share_one_refresh(env: Env) -> None:
    async with env.client() as client:
        await client.campaign.limits()
        env.sandbox.expire_tokens()
        await asyncio.gather(*(client.campaign.limits() for _ in range(20)))
    assert client.token_requests == 2


async def test_an_oauth_token_is_sent_as_it_is(env: Env) -> None:
    async with env.client(access_token="oauth-app-token-123") as client:
        page = await client.campaign.list(page_size=2)
    assert len(page.list_ or []) == 2
    assert env.sandbox.requests_for("/api/client/token") == []
    assert client.token_requests == 0


async def test_a_token_provider_is_asked_again_after_a_401(env: Env) -> None:
    given: list[str | None] = []

    async def provider(rejected: str | None) -> str:
        given.append(rejected)
        return "oauth-app-token-2" if rejected else "oauth-app-token-1"

    async with env.client(token_provider=provider) as client:
        env.sandbox.add_fault("/api/client/limits/list", status=401, body={"error": "x"}, times=1)
        await client.campaign.limits()
    assert given == [None, "oauth-app-token-1"]


def test_credentials_come_from_the_environment_and_profiles(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OZON_PERFORMANCE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("OZON_PERFORMANCE_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("OZON_PERFORMANCE_BASE_URL", "http://127.0.0.1:9")
    client = OzonPerformanceClient()
    assert client.client_id == CLIENT_ID and client.base_url == "http://127.0.0.1:9"
    for name in ("OZON_PERFORMANCE_CLIENT_ID", "OZON_PERFORMANCE_CLIENT_SECRET"):
        monkeypatch.delenv(name)
    with pytest.raises(ConfigurationError, match="OZON_PERFORMANCE_CLIENT_ID"):
        OzonPerformanceClient()
    config = tmp_path / "config.toml"
    config.write_text(
        "[profiles.ads]\n"
        f'performance_client_id = "{CLIENT_ID}"\n'
        f'performance_client_secret = "{SECRET}"\n'
        'performance_base_url = "http://127.0.0.1:8"\n'
        "allow_custom_base_url = true\n"
    )
    config.chmod(0o600)
    monkeypatch.setenv("OZON_ASYNC_CONFIG", str(config))
    client = OzonPerformanceClient.from_profile("ads")
    assert client.client_id == CLIENT_ID and client.base_url == "http://127.0.0.1:8"
    assert SECRET not in repr(client) and SECRET not in repr(client._auth)
    with pytest.raises(ConfigurationError, match="one of client_secret"):
        OzonPerformanceClient(CLIENT_ID, SECRET, access_token="oauth-x")


async def test_the_secret_is_in_no_log_repr_or_error(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ozon_async")
    env.sandbox.credentials = {CLIENT_ID: "another-secret"}
    async with env.client() as client:
        texts = [repr(client), repr(client._auth), repr(client._credentials), repr(client.campaign)]
        with pytest.raises(AuthenticationError) as caught:
            await client.campaign.limits()
        env.sandbox.credentials = {CLIENT_ID: SECRET}
        await client.campaign.limits()
        token = next(iter(env.sandbox.tokens))
    error = caught.value
    texts += [str(error), repr(error), repr(error.__dict__), error.body.decode()]
    texts += [r.getMessage() for r in caplog.records]
    texts += [repr(e) for e in env.events]
    for text in texts:
        assert SECRET not in text
        assert token not in text
    assert caplog.records  # the attempts were logged (without the secret)
    # the sandbox masks it in what it records
    assert all(
        SECRET not in json.dumps(r.body) for r in env.sandbox.requests_for("/api/client/token")
    )


async def test_an_error_that_echoes_the_secret_is_scrubbed() -> None:
    seen: list[HTTPRequest] = []

    def handler(request: HTTPRequest) -> HTTPResponse:
        seen.append(request)
        body = json.loads(request.content or b"{}")
        return HTTPResponse(400, json={"error": f"bad secret {body.get('client_secret')}"})

    client = OzonPerformanceClient(
        CLIENT_ID, SECRET, base_url="https://perf.example", transport=MockTransport(handler)
    )
    with pytest.raises(Exception) as caught:
        await client.campaign.limits()
    error: Any = caught.value
    assert SECRET not in str(error) and SECRET not in repr(error)
    assert SECRET.encode() not in error.body
    assert "***" in str(error)
    # the secret went only to the client's base URL, in the token request's body
    assert [r.url for r in seen] == ["https://perf.example/api/client/token"]
    await client.aclose()


# ------------------------------------------------------------------------ budget and export rules
async def test_the_daily_budget_refuses_requests_once_spent(env: Env) -> None:
    class Small(OzonPerformanceClient):
        _budget = RateLimit(requests=3, period=86400)

    async with Small(
        CLIENT_ID, SECRET, base_url=env.sandbox.url, clock=env.clock, limiter=env.limiter
    ) as client:
        await client.campaign.limits()  # the token request and this one: 2 of 3
        # a call Ozon does not count is not counted either
        await client.statistics.products_sku(
            campaign_ids=env.sandbox.campaign_ids()[:1],
            date_from="2026-03-01",
            date_to="2026-03-01",
        )
        await client.campaign.limits()
        sent = len(env.sandbox.requests)
        with pytest.raises(RequestBudgetExhaustedError) as caught:
            await client.campaign.limits()
        assert len(env.sandbox.requests) == sent  # nothing was sent
        assert 86000 < caught.value.retry_after <= 86400.1
        env.clock.advance(86401)  # a day later the budget is whole again
        await client.campaign.limits()
        assert client.token_requests == 2  # the token had expired meanwhile


async def test_a_report_beyond_the_rules_is_refused_before_sending(env: Env) -> None:
    ids = env.sandbox.campaign_ids()
    async with env.client() as client:
        with pytest.raises(RequestValidationError) as too_many:
            await client.statistics.submit(
                campaigns=ids[:11], date_from="2026-01-01", date_to="2026-01-31"
            )
        with pytest.raises(RequestValidationError) as too_long:
            await client.statistics.submit(
                campaigns=ids[:2], date_from="2026-01-01", date_to="2026-03-04"
            )
    assert too_many.value.field == "campaigns"
    assert too_long.value.field == "dateTo" and "62 days" in str(too_long.value)
    assert env.sandbox.requests_for("/api/client/statistics") == []


async def test_the_sandbox_refuses_a_second_running_export_as_ozon_does(env: Env) -> None:
    ids = env.sandbox.campaign_ids()
    async with env.client(max_retries=0) as client:
        first = await client.statistics.submit(
            campaigns=ids[:1], date_from="2026-01-01", date_to="2026-01-31"
        )
        with pytest.raises(RateLimitError) as caught:
            await client.statistics.submit(
                campaigns=ids[1:2], date_from="2026-01-01", date_to="2026-01-31"
            )
        assert caught.value.status == 429
        assert "active" in caught.value.message
        done = await client.statistics.submit.wait(first.UUID)
        assert done.state == "OK"
        again = await client.statistics.submit(
            campaigns=ids[1:2], date_from="2026-01-01", date_to="2026-01-31"
        )
        assert again.UUID
    assert env.sandbox.max_concurrent_exports == 1


async def test_and_wait_takes_turns_between_clients_of_one_account(env: Env) -> None:
    ids = env.sandbox.campaign_ids()
    async with env.client() as a, env.client() as b:
        results = await asyncio.gather(
            a.statistics.submit.and_wait(
                campaigns=ids[:3], date_from="2026-01-01", date_to="2026-01-10"
            ),
            b.statistics.submit.and_wait(
                campaigns=ids[3:6], date_from="2026-01-01", date_to="2026-01-10"
            ),
            a.statistics.submit_video.and_wait(
                campaigns=ids[6:7], date_from="2026-01-01", date_to="2026-01-10"
            ),
        )
    assert all(r.ok for r in results)
    assert env.sandbox.max_concurrent_exports == 1
    assert env.sandbox.refused_exports == 0


async def test_a_25_campaign_100_day_export_runs_as_compliant_exports(env: Env) -> None:
    ids = env.sandbox.campaign_ids()
    assert len(ids) == 25
    first, last = date(2026, 1, 1), date(2026, 4, 10)
    assert (last - first).days + 1 == 100
    async with env.client() as client:
        report = await client.reports.statistics(ids, first, last, group_by="DATE")
    exports = list(env.sandbox.exports.values())
    assert len(exports) == len(report.exports) == 6  # 3 groups of campaigns x 2 periods
    for e in exports:
        assert 1 <= len(e.campaigns) <= 10
        assert (e.date_to - e.date_from).days + 1 <= 62
    # never two at once for the account, and never refused
    assert env.sandbox.max_concurrent_exports == 1
    assert env.sandbox.refused_exports == 0
    spans = sorted((e.created_at, e.updated_at) for e in exports)
    for (_, ended), (started, _) in itertools.pairwise(spans):
        assert started >= ended  # each export started after the one before it had ended
    # every campaign and day, and the same figures the sandbox serves
    days = {first + timedelta(days=i) for i in range(100)}
    seen = {(row.campaign_id, row.date) for row in report.rows}
    assert seen == {(c, d) for c in ids for d in days}
    row = report.rows[0]
    expected = env.sandbox.figures(row.campaign_id, row.sku or 0, row.date or first)
    assert row.views == expected["views"] and row.clicks == expected["clicks"]
    assert len(report.files) == sum(len(e.campaigns) for e in exports)
    assert report.csv(ids[0]).count("Всего") == 2  # one file per period


def test_a_plan_keeps_the_rules() -> None:
    client = OzonPerformanceClient(CLIENT_ID, SECRET, base_url="http://127.0.0.1:9")
    plan = client.reports.plan(list(range(1, 201)), date(2026, 1, 1), date(2026, 6, 29))
    assert len(plan) == 20 * 3
    assert all(len(c.campaigns) <= 10 and c.days <= 62 for c in plan)
    covered = {
        (cid, c.date_from + timedelta(days=i))
        for c in plan
        for cid in c.campaigns
        for i in range(c.days)
    }
    assert len(covered) == 200 * 180
    with pytest.raises(RequestValidationError):
        client.reports.plan([1], "2026-02-01", "2026-01-01")


async def test_the_in_process_lease_admits_one_holder_and_hands_over_on_release() -> None:
    limiter = InProcessRateLimiter()  # real time: the handover must not wait for a lapse
    first = await limiter.acquire_lease("acct export", 1, 120)
    order: list[str] = []

    async def second() -> None:
        lease = await limiter.acquire_lease("acct export", 1, 120)
        order.append("second")
        await lease.release()

    task = asyncio.ensure_future(second())
    await asyncio.sleep(0.01)
    assert order == []
    order.append("first releases")
    await first.release()
    await task
    assert order == ["first releases", "second"]
    # a holder that never releases blocks others only until its lease lapses
    clock = ManualClock()
    limiter = InProcessRateLimiter(clock=clock)
    stale = await limiter.acquire_lease("acct export", 1, 120)
    start = clock.now()
    lease = await limiter.acquire_lease("acct export", 1, 120)
    assert clock.now() - start == pytest.approx(120)
    assert not await stale.renew()
    with pytest.raises(TimeoutError):
        await limiter.acquire_lease("acct export", 1, 120, timeout=10)
    await lease.release()


async def test_the_redis_lease_is_shared_between_limiters() -> None:
    import os

    from tests._redis import REQUIRE_ENV, RedisServer, RedisUnavailable

    if os.environ.get(REQUIRE_ENV) != "1":
        pytest.importorskip("redis.asyncio", reason="needs the redis extra")
    from ozon_async.redis_limiter import RedisRateLimiter

    try:
        server = RedisServer().start()
    except RedisUnavailable as exc:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {exc}")
        pytest.skip(f"needs a local redis-server: {exc}")
    try:
        a = RedisRateLimiter.from_url(server.url, prefix="t:")
        b = RedisRateLimiter.from_url(server.url, prefix="t:")
        b.lease_poll = 0.02
        held = await a.acquire_lease("acct export", 1, 30)
        waiter = asyncio.ensure_future(b.acquire_lease("acct export", 1, 30))
        await asyncio.sleep(0.2)
        assert not waiter.done()  # another process holds the turn
        assert await held.renew()
        await held.release()
        lease = await asyncio.wait_for(waiter, 5)
        with pytest.raises(TimeoutError):
            await a.acquire_lease("acct export", 1, 30, timeout=0.1)
        await lease.release()
        await a.aclose()
        await b.aclose()
    finally:
        server.close()


# ------------------------------------------------------------------------ requests and answers
async def test_query_parameters_are_checked_and_sent(env: Env) -> None:
    ids = env.sandbox.campaign_ids()
    async with env.client() as client:
        with pytest.raises(RequestValidationError) as caught:
            await client.campaign.list(state="RUNNING")  # type: ignore[arg-type]
        assert caught.value.field == "state"
        page = await client.campaign.list(campaign_ids=ids[:2], state="CAMPAIGN_STATE_UNKNOWN")
        assert sorted(c.id for c in page.list_ or []) == ids[:2]
        csv = await client.statistics.daily(
            campaign_ids=ids[:1], date_from=date(2026, 3, 1), date_to="2026-03-02"
        )
        assert csv.content_type == "text/csv" and csv.content.count(b"\n") == 3
        raw = await client.request(
            "GET", "/api/client/campaign", params={"campaignIds": ids[:3], "pageSize": 2}
        )
        assert len(raw.json()["list"]) == 2
    sent = env.sandbox.requests_for("/api/client/campaign")[1].raw_path
    assert sent == "/api/client/campaign"
    urls = [e.url for e in env.events if e.path == "/api/client/campaign"]
    assert f"/api/client/campaign?campaignIds={ids[0]}&campaignIds={ids[1]}&state=" in urls[0]


async def test_writes_change_the_sandbox_and_empty_answers_decode(env: Env) -> None:
    cid = env.sandbox.campaign_ids()[0]
    async with env.client() as client:
        await client.product.add(campaign_id=cid, bids=[{"sku": 1400000001, "bid": 30000000}])
        listed = await client.product.list_v2(campaign_id=cid)
        assert 1400000001 in {p.sku for p in listed.products or []}
        await client.product.delete(campaign_id=cid, sku=[1400000001])
        listed = await client.product.list_v2(campaign_id=cid)
        assert 1400000001 not in {p.sku for p in listed.products or []}
        off = await client.campaign.deactivate(campaign_id=cid)
        assert off.state == "CAMPAIGN_STATE_INACTIVE"
        on = await client.campaign.activate(campaign_id=cid)
        assert on.state == "CAMPAIGN_STATE_RUNNING"
        with pytest.raises(RequestValidationError):
            await client.search_promo.all_sku_set_bid(bid=12)
        await client.search_promo.all_sku_set_bid(bid=9)
        assert env.sandbox.all_sku_promo["bid"] == 9
        # the vendor report's status takes its fixed `vendor=true` when waited for
        done = await client.vendor.submit.and_wait(
            date_from="2026-01-01", date_to="2026-03-31", type="ORDERS"
        )
        assert done.ok


def test_a_profile_cannot_send_the_performance_secret_elsewhere_without_opting_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ozon_async import ConfigurationError

    config = tmp_path / "config.toml"
    config.write_text(
        "[profiles.ads]\n"
        f'performance_client_id = "{CLIENT_ID}"\n'
        f'performance_client_secret = "{SECRET}"\n'
        'performance_base_url = "http://127.0.0.1:8"\n'
    )
    config.chmod(0o600)
    monkeypatch.setenv("OZON_ASYNC_CONFIG", str(config))
    with pytest.raises(ConfigurationError, match=r"performance_base_url .*allow_custom_base_url"):
        OzonPerformanceClient.from_profile("ads")
