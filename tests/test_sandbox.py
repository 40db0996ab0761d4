"""The sandbox on a real loopback server: state that follows requests, Ozon's rules, sandbox time,
report files, realistic and deterministic answers over every operation."""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import aiohttp
import msgspec
import pytest

from ozon_async import OPERATIONS, BadRequestError, InProcessRateLimiter, NotFoundError, OzonClient
from ozon_async.testing import ManualClock, OzonSandbox, Sandbox

WIDE = {"since": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}


def _client(sandbox: Sandbox, clock: Any, **kwargs: Any) -> OzonClient:
    return OzonClient(
        sandbox.client_id,
        sandbox.api_key,
        base_url=sandbox.url,
        clock=clock,
        limiter=InProcessRateLimiter(clock=clock),
        **kwargs,
    )


# ------------------------------------------------------------------------ lookups and filters
async def test_a_posting_fetched_by_number_is_that_posting(ozon_sandbox: OzonSandbox) -> None:
    client, state = ozon_sandbox.client, ozon_sandbox.sandbox.state
    for number in sorted(state.postings)[:5]:
        stored = state.postings[number]
        got = (await client.posting.fbs_get_v3(posting_number=number)).result
        assert got is not None
        assert got.posting_number == number
        assert got.status == stored.status
        assert got.order_id == stored.order_id
        assert [p.sku for p in got.products or []] == [p["sku"] for p in stored.products]
        assert re.fullmatch(r"\d{10}-\d{4}-\d+", number)
    with pytest.raises(NotFoundError) as info:
        await client.posting.fbs_get_v3(posting_number="0000000000-0000-1")
    assert info.value.code == 5 and "0000000000-0000-1" in info.value.message


async def test_a_status_filter_returns_only_that_status_across_all_pages(
    ozon_sandbox: OzonSandbox,
) -> None:
    client, sandbox = ozon_sandbox.client, ozon_sandbox.sandbox
    expected = {n for n, p in sandbox.state.postings.items() if p.status == "delivered"}
    assert len(expected) > 40  # enough for several pages
    seen = [
        p
        async for p in client.posting.fbs_list_v4.iter(
            limit=20, filter={**WIDE, "statuses": ["delivered"]}
        )
    ]
    assert {p.status for p in seen} == {"delivered"}
    assert {p.posting_number for p in seen} == expected and len(seen) == len(expected)
    assert len(sandbox.requests_for("/v4/posting/fbs/list")) == -(-len(expected) // 20)
    # the older offset-paginated version agrees
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = [
            p
            async for p in client.posting.fbs_list_v3.iter(
                limit=50, filter={**WIDE, "status": "delivered"}
            )
        ]
    assert {p.posting_number for p in old} == expected


async def test_time_and_warehouse_filters(ozon_sandbox: OzonSandbox) -> None:
    client, state = ozon_sandbox.client, ozon_sandbox.sandbox.state
    anchor = ozon_sandbox.sandbox.anchor
    since = datetime.fromtimestamp(anchor - 3 * 86400, timezone.utc)
    to = datetime.fromtimestamp(anchor - 86400, timezone.utc)
    wid = next(iter(state.warehouses))
    got = [
        p
        async for p in client.posting.fbs_list_v4.iter(
            limit=100, filter={"since": since, "to": to, "warehouse_ids": [wid]}
        )
    ]
    expected = {
        n
        for n, p in state.postings.items()
        if since.timestamp() <= p.in_process_at <= to.timestamp() and p.warehouse_id == wid
    }
    assert {p.posting_number for p in got} == expected and expected
    for p in got:
        assert p.in_process_at is not None and since <= p.in_process_at <= to


# ------------------------------------------------------------------------ stocks and the 30-s rule
async def test_stock_update_is_visible_and_the_30_second_rule_applies(
    ozon_sandbox: OzonSandbox,
) -> None:
    client, sandbox = ozon_sandbox.client, ozon_sandbox.sandbox
    product = next(p for p in sandbox.state.products.values() if not p.archived)
    wid = next(iter(sandbox.state.warehouses))
    pair = {"offer_id": product.offer_id, "warehouse_id": wid}
    first = await client.products.stocks_v2(stocks=[{**pair, "stock": 17}])
    (r,) = first.result or []
    assert r.updated and not r.errors and r.product_id == product.product_id

    stocks = await client.product.info_stocks_v4(
        limit=10, filter={"offer_id": [product.offer_id], "visibility": "ALL"}
    )
    (item,) = stocks.items or []
    fbs = next(s for s in item.stocks or [] if s.type == "fbs")
    assert (fbs.present or 0) - (fbs.reserved or 0) >= 17
    assert product.stocks[wid] - product.reserved.get(wid, 0) == 17

    ozon_sandbox.advance(10)  # 10 s of sandbox time later: too soon
    second = await client.products.stocks_v2(stocks=[{**pair, "stock": 3}])
    (r2,) = second.result or []
    assert r2.updated is False
    assert [e.code for e in r2.errors or []] == ["TOO_MANY_REQUESTS"]
    assert product.stocks[wid] - product.reserved.get(wid, 0) == 17  # unchanged

    ozon_sandbox.advance(20)  # 30 s after the first update
    third = await client.products.stocks_v2(stocks=[{**pair, "stock": 3}])
    assert (third.result or [])[0].updated is True


async def test_stock_errors_per_item_and_batch_limit(ozon_sandbox: OzonSandbox) -> None:
    client, sandbox = ozon_sandbox.client, ozon_sandbox.sandbox
    wid = next(iter(sandbox.state.warehouses))
    resp = await client.products.stocks_v2(
        stocks=[
            {"offer_id": "NO-SUCH-OFFER", "stock": 1, "warehouse_id": wid},
            {"offer_id": "ART-01002", "stock": 1, "warehouse_id": 1},
        ]
    )
    codes = [[e.code for e in r.errors or []] for r in resp.result or []]
    assert codes == [["NOT_FOUND"], ["WAREHOUSE_NOT_FOUND"]]
    too_many = [{"offer_id": f"X-{i}", "stock": 1, "warehouse_id": wid} for i in range(101)]
    with pytest.raises(BadRequestError) as info:  # the spec's maxItems, checked by the server
        await client.request("POST", "/v2/products/stocks", json={"stocks": too_many})
    assert "stocks" in info.value.message


async def test_more_than_ten_price_updates_an_hour_are_refused(ozon_sandbox: OzonSandbox) -> None:
    client, sandbox = ozon_sandbox.client, ozon_sandbox.sandbox
    product = next(p for p in sandbox.state.products.values() if not p.archived)
    for i in range(10):
        resp = await client.product.import_prices_v1(
            prices=[{"offer_id": product.offer_id, "price": f"{1000 + i}.00", "old_price": "0"}]
        )
        assert (resp.result or [])[0].updated is True
        ozon_sandbox.advance(60)
    refused = await client.product.import_prices_v1(
        prices=[{"offer_id": product.offer_id, "price": "2000.00", "old_price": "0"}]
    )
    (r,) = refused.result or []
    assert r.updated is False and [e.code for e in r.errors or []] == ["TOO_MANY_REQUESTS"]
    assert product.price == "1009.00"
    prices = await client.product.info_prices_v5(
        limit=10, filter={"offer_id": [product.offer_id], "visibility": "ALL"}
    )
    (item,) = prices.items or []
    assert item.price is not None and float(item.price.price or 0) == 1009.0
    ozon_sandbox.advance(3600)
    again = await client.product.import_prices_v1(
        prices=[{"offer_id": product.offer_id, "price": "2000.00", "old_price": "0"}]
    )
    assert (again.result or [])[0].updated is True


# ------------------------------------------------------------------------ imports and archive
async def test_an_import_task_moves_from_pending_to_imported(ozon_sandbox: OzonSandbox) -> None:
    client, sandbox = ozon_sandbox.client, ozon_sandbox.sandbox
    items = [
        {
            "offer_id": "NEW-001",
            "name": "Кружка керамическая, белая",
            "price": "590.00",
            "description_category_id": 17028922,
            "type_id": 94765,
        },
        {
            "offer_id": "NEW-002",
            "name": "",
            "price": "0",
            "description_category_id": 17028922,
            "type_id": 94765,
        },
    ]
    task = await client.product.import_v3(items=items)
    assert task.result is not None and task.result.task_id
    task_id = task.result.task_id
    first = await client.product.import_info_v1(task_id=task_id)
    assert {i.status for i in first.result.items or []} == {"pending"}  # type: ignore[union-attr]
    assert sandbox.state.product_by(offer_id="NEW-001") is None
    done = await client.product.import_info_v1(task_id=task_id)
    by_offer = {i.offer_id: i for i in done.result.items or []}  # type: ignore[union-attr]
    assert by_offer["NEW-001"].status == "imported" and not by_offer["NEW-001"].errors
    assert by_offer["NEW-002"].status == "failed"
    assert {e.field for e in by_offer["NEW-002"].errors or []} == {"name", "price"}
    listed = await client.product.list_v3(limit=10, filter={"offer_id": ["NEW-001"]})
    assert [i.offer_id for i in listed.result.items or []] == ["NEW-001"]  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        await client.product.import_info_v1(task_id=1)


async def test_an_import_task_finishes_with_time_alone() -> None:
    clock = ManualClock()
    sandbox = Sandbox(clock=clock, task_polls=None, task_seconds=5)
    async with sandbox, _client(sandbox, clock) as client:
        item = {
            "offer_id": "T-1",
            "name": "Плед флисовый",
            "price": "990",
            "description_category_id": 17028922,
            "type_id": 94765,
        }
        task = await client.product.import_v3(items=[item])
        task_id = task.result.task_id  # type: ignore[union-attr]
        for _ in range(3):
            info = await client.product.import_info_v1(task_id=task_id)
            assert info.result.items[0].status == "pending"  # type: ignore[union-attr,index]
        clock.advance(5)
        info = await client.product.import_info_v1(task_id=task_id)
        assert info.result.items[0].status == "imported"  # type: ignore[union-attr,index]


async def test_archive_and_unarchive_change_visibility(ozon_sandbox: OzonSandbox) -> None:
    client, sandbox = ozon_sandbox.client, ozon_sandbox.sandbox
    p = next(p for p in sandbox.state.products.values() if not p.archived)

    async def archived_ids() -> set[int]:
        page = await client.product.list_v3(limit=1000, filter={"visibility": "ARCHIVED"})
        return {i.product_id for i in page.result.items or []}  # type: ignore[union-attr]

    assert p.product_id not in await archived_ids()
    await client.product.archive_v1(product_id=[p.product_id])
    assert p.product_id in await archived_ids()
    await client.product.unarchive_v1(product_id=[p.product_id])
    assert p.product_id not in await archived_ids()
    with pytest.raises(NotFoundError):
        await client.product.archive_v1(product_id=[1])


# ------------------------------------------------------------------------ posting lifecycle
async def test_ship_then_deliver_and_invalid_transitions(ozon_sandbox: OzonSandbox) -> None:
    client, sandbox = ozon_sandbox.client, ozon_sandbox.sandbox
    p = next(p for p in sandbox.state.postings.values() if p.status == "awaiting_packaging")
    products = [{"product_id": it["sku"], "quantity": it["quantity"]} for it in p.products]
    shipped = await client.posting.fbs_ship_v4(
        posting_number=p.posting_number, packages=[{"products": products}]
    )
    assert shipped.result == [p.posting_number]
    got = await client.posting.fbs_get_v3(posting_number=p.posting_number)
    assert got.result is not None and got.result.status == "awaiting_deliver"
    with pytest.raises(BadRequestError) as again:
        await client.posting.fbs_ship_v4(
            posting_number=p.posting_number, packages=[{"products": products}]
        )
    assert again.value.code == 3 and "INVALID_POSTING_STATUS" in again.value.message

    with pytest.warns(DeprecationWarning, match="switched it off"):  # still served here
        label = await client.posting.fbs_package_label_v2(posting_number=[p.posting_number])
    assert label.content.startswith(b"%PDF-1.4") and p.posting_number.encode() in label.content
    assert label.content.rstrip().endswith(b"%%EOF")

    moved = await client.fbs.posting_delivering_v2(posting_number=[p.posting_number])
    assert [(r.posting_number, r.result) for r in moved.result or []] == [(p.posting_number, True)]
    done = await client.fbs.posting_delivered_v2(posting_number=[p.posting_number, "1-1-1"])
    assert [r.result for r in done.result or []] == [True, False]
    assert sandbox.state.postings[p.posting_number].status == "delivered"
    with pytest.raises(BadRequestError):
        await client.posting.fbs_cancel_v2(posting_number=p.posting_number, cancel_reason_id=352)


async def test_cancel_moves_the_posting_and_records_the_reason(ozon_sandbox: OzonSandbox) -> None:
    client, sandbox = ozon_sandbox.client, ozon_sandbox.sandbox
    p = next(p for p in sandbox.state.postings.values() if p.status == "awaiting_packaging")
    await client.posting.fbs_cancel_v2(
        posting_number=p.posting_number, cancel_reason_id=352, cancel_reason_message="нет в наличии"
    )
    got = (await client.posting.fbs_get_v3(posting_number=p.posting_number)).result
    assert got is not None and got.status == "cancelled"
    assert got.cancellation is not None and got.cancellation.cancel_reason_id == 352


# ------------------------------------------------------------------------ chats
async def test_a_sent_chat_message_shows_in_the_history(ozon_sandbox: OzonSandbox) -> None:
    client, sandbox = ozon_sandbox.client, ozon_sandbox.sandbox
    p = next(iter(sandbox.state.postings.values()))
    chat_id = (await client.chat.start_v1(posting_number=p.posting_number)).result.chat_id  # type: ignore[union-attr]
    await client.chat.send_message_v1(chat_id=chat_id, text="Заказ собран, передаём в доставку")
    history = await client.chat.history_v3(chat_id=chat_id, limit=10)
    texts = [m.data for m in history.messages or []]
    assert ["Заказ собран, передаём в доставку"] in texts
    chats = [c async for c in client.chat.list_v3.iter(limit=5)]
    assert chat_id in {c.chat.chat_id for c in chats if c.chat}
    with pytest.raises(NotFoundError):
        await client.chat.history_v3(chat_id="no-such-chat", limit=10)


# ------------------------------------------------------------------------ reports and files
async def _download(url: str) -> bytes:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        assert r.status == 200
        return await r.read()


async def test_a_postings_report_goes_through_its_states_and_downloads_as_csv(
    ozon_sandbox: OzonSandbox,
) -> None:
    client, sandbox = ozon_sandbox.client, ozon_sandbox.sandbox
    created = await client.report.postings_create_v1(
        filter={"processed_at_from": WIDE["since"], "processed_at_to": WIDE["to"]},
        language="DEFAULT",
    )
    code = created.result.code  # type: ignore[union-attr]
    statuses = []
    for _ in range(5):
        info = (await client.report.info_v1(code=code)).result
        assert info is not None and info.code == code and info.report_type == "SELLER_POSTINGS"
        statuses.append(info.status)
        if info.status == "success":
            break
    assert statuses[:3] == ["waiting", "processing", "success"]
    assert info.file and info.file.startswith(sandbox.url + "/")
    text = (await _download(info.file)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    header, body = rows[0], rows[1:]
    numbers = {r[header.index("Номер отправления")] for r in body}
    assert numbers == set(sandbox.state.postings)
    listed = await client.report.list_v1(page=1, page_size=100, report_type="SELLER_POSTINGS")
    assert code in {r.code for r in listed.result.reports or []}  # type: ignore[union-attr]


async def test_report_readiness_follows_sandbox_time() -> None:
    clock = ManualClock()
    sandbox = Sandbox(clock=clock, report_polls=None, report_seconds=60)
    async with sandbox, _client(sandbox, clock) as client:
        code = (await client.report.products_create_v1(language="DEFAULT")).result.code  # type: ignore[union-attr]
        assert (await client.report.info_v1(code=code)).result.status == "waiting"  # type: ignore[union-attr]
        clock.advance(30)
        assert (await client.report.info_v1(code=code)).result.status == "processing"  # type: ignore[union-attr]
        clock.advance(30)
        info = (await client.report.info_v1(code=code)).result
        assert info is not None and info.status == "success"
        rows = (await _download(info.file or "")).decode("utf-8-sig").splitlines()
        assert len(rows) == len(sandbox.state.products) + 1


async def test_stock_report_is_a_real_xlsx(ozon_sandbox: OzonSandbox) -> None:
    client, sandbox = ozon_sandbox.client, ozon_sandbox.sandbox
    wids = list(sandbox.state.warehouses)[:2]
    code = (
        await client.report.warehouse_stock_v1(language="DEFAULT", warehouse_id=wids)
    ).result.code  # type: ignore[union-attr]
    for _ in range(3):
        info = (await client.report.info_v1(code=code)).result
    assert info is not None and info.status == "success" and (info.file or "").endswith(".xlsx")
    data = await _download(info.file or "")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
    assert "Артикул" in sheet and "<row" in sheet


# ------------------------------------------------------------------------ auth
async def test_oauth_bearer_token_is_accepted_and_limited_per_token() -> None:
    clock = ManualClock()
    async with (
        Sandbox(clock=clock, rate_limit=2, any_key=True) as sandbox,
        aiohttp.ClientSession() as s,
    ):
        url = sandbox.url + "/v1/roles"
        statuses = []
        for token in ("token-a", "token-a", "token-a", "token-b"):
            async with s.post(url, json={}, headers={"Authorization": f"Bearer {token}"}) as r:
                statuses.append(r.status)
        assert statuses == [200, 200, 429, 200]
        async with s.post(url, json={}, headers={"Authorization": "Bearer "}) as r:
            assert r.status == 401
        assert sandbox.requests[0].headers["Authorization"] == "Bearer ***"
        assert sandbox.requests[0].client_id is None


# ------------------------------------------------------------------------ every operation
async def _answers(sandbox: Sandbox, clock: ManualClock) -> dict[str, bytes]:
    out = {}
    async with _client(sandbox, clock) as client:
        for key in sorted(OPERATIONS):
            op = OPERATIONS[key]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                resp = await client.request(op.method, op.path, json=sandbox.example_request(key))
            out[key] = resp.content
    return out


@pytest.fixture
async def twin_sandboxes() -> AsyncIterator[tuple[Sandbox, ManualClock, Sandbox, ManualClock]]:
    c1, c2 = ManualClock(), ManualClock()
    async with Sandbox(seed=42, clock=c1) as s1, Sandbox(seed=42, clock=c2) as s2:
        yield s1, c1, s2, c2


async def test_every_answer_is_realistic_and_the_same_for_the_same_seed(
    twin_sandboxes: tuple[Sandbox, ManualClock, Sandbox, ManualClock],
) -> None:
    s1, c1, s2, c2 = twin_sandboxes
    first = await _answers(s1, c1)
    second = await _answers(s2, c2)
    assert set(first) == set(OPERATIONS)
    for key, body in first.items():
        assert b'"string"' not in body, key
        assert body == second[key].replace(s2.url.encode(), s1.url.encode()), key
    other = Sandbox(seed=43, clock=ManualClock())
    assert set(other.state.postings) != set(s1.state.postings)
    # ranges are consistent: a start is never after its end (timetable_from/_to, since/to...)
    checked = 0
    for key, body in first.items():
        if body[:1] in (b"{", b"["):
            checked += _check_ranges(msgspec.json.decode(body), key)
    assert checked > 50


def _check_ranges(value: Any, where: str) -> int:
    """How many range ends were seen; fails on a start after its end."""
    from ozon_async.testing._data import order_ranges

    found = 0
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ends = [k for k in node if k.endswith(("_to", "_end", "_max")) or k == "to"]
            if ends:
                ordered = dict(node)
                order_ranges(ordered)
                assert ordered == node, f"{where}: a range is out of order in {node}"
                found += len(ends)
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return found


async def test_generated_answers_follow_the_request(ozon_sandbox: OzonSandbox) -> None:
    """An operation without state behind it still answers about what was asked."""
    client, sandbox = ozon_sandbox.client, ozon_sandbox.sandbox
    number = next(iter(sandbox.state.postings))
    resp = await client.request(
        "POST", "/v1/finance/realization/posting", json={"month": 2, "year": 2025}
    )
    dates = re.findall(r'"(20\d\d-\d\d-\d\d)', resp.text())
    assert dates and all(d.startswith("2025-02") for d in dates)
    ex = await client.request(
        "POST", "/v4/fbs/posting/product/exemplar/status", json={"posting_number": number}
    )
    assert number in ex.text()


async def test_example_requests_name_existing_objects(ozon_sandbox: OzonSandbox) -> None:
    sandbox = ozon_sandbox.sandbox
    body = sandbox.example_request("POST /v4/posting/fbs/ship")
    assert sandbox.state.postings[body["posting_number"]].status == "awaiting_packaging"
    assert sandbox.example_request("POST /v1/report/info")["code"] in sandbox.state.reports


def test_the_readme_example_runs_as_written(tmp_path: Any) -> None:
    """The sandbox section's pytest example, run by pytest in a project of its own."""
    import subprocess
    import sys
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    start = readme.index("# test_my_shop.py")
    (tmp_path / "test_my_shop.py").write_text(readme[start : readme.index("```", start)])
    # the README's pytest configuration, as written; warnings are errors (a deprecation
    # warning from pytest-asyncio about its configuration would fail the run)
    config = readme.index("```toml\n[tool.pytest.ini_options]") + len("```toml\n")
    (tmp_path / "pyproject.toml").write_text(readme[config : readme.index("```", config)])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-W",
            "error",
            "-p",
            "no:cacheprovider",
            "test_my_shop.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_every_state_backed_operation_is_in_the_spec() -> None:
    """A handler whose path left the spec would silently stop being used."""
    from ozon_async.testing._handlers import HANDLERS, NEEDS, PREPARE

    for key in [*HANDLERS, *NEEDS, *PREPARE]:
        assert key in OPERATIONS, key


async def test_a_wrong_key_is_refused_as_ozon_refuses_it() -> None:
    """Only the sandbox's own credentials pass; a wrong key gets Ozon's 401 answer, so that a
    client's handling of a revoked key can be tested without fault injection."""
    from ozon_async import AuthenticationError

    async with Sandbox(seed=1) as sandbox:
        async with sandbox.client(rate_limit=None) as good:
            assert (await good.warehouse.list_v2(limit=1)).warehouses
        for client_id, key in ((sandbox.client_id, "wrong"), ("999", sandbox.api_key)):
            async with OzonClient(client_id, key, base_url=sandbox.url, max_retries=0) as bad:
                with pytest.raises(AuthenticationError) as info:
                    await bad.warehouse.list_v2(limit=1)
            assert info.value.status == 401 and info.value.code == 16
            assert info.value.message == "Invalid Api-Key, please check the key and try again"
        async with OzonClient(
            access_token="not-the-token", base_url=sandbox.url, max_retries=0
        ) as bad_token:
            with pytest.raises(AuthenticationError):
                await bad_token.warehouse.list_v2(limit=1)
        async with OzonClient(
            access_token=sandbox.access_token, base_url=sandbox.url
        ) as good_token:
            assert (await good_token.warehouse.list_v2(limit=1)).warehouses
    async with Sandbox(seed=1, any_key=True) as open_sandbox:
        async with OzonClient("1", "anything", base_url=open_sandbox.url) as anyone:
            assert (await anyone.warehouse.list_v2(limit=1)).warehouses
        assert "any Client-Id" in open_sandbox.credentials_text()
