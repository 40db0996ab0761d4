"""Task waiters end to end on the sandbox (ozon_async.testing), time advanced through its
clock. Warehouse operations and exemplar checks run on the small fake (tests/_bulk_server.py):
the sandbox answers their status operations from the schema, with no state behind them."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from ozon_async import OPERATIONS
from ozon_async.bulk import TaskFailedError, TaskResult, TaskTimeoutError
from ozon_async.types.product import ProductImportInfoV1Response
from tests._bulk_server import bulk_env
from tests._sandbox_env import sandbox_env

IMPORT = "/v3/product/import"
IMPORT_INFO = "/v1/product/import/info"
PRODUCTS = [
    {
        "offer_id": "mug-1",
        "name": "Mug",
        "description_category_id": 17028922,
        "type_id": 91565,
        "price": "100",
    },
    {
        "offer_id": "nameless-2",
        "description_category_id": 17028922,
        "type_id": 91565,
        "price": "100",
    },
    {
        "offer_id": "cup-3",
        "name": "Cup",
        "description_category_id": 17028922,
        "type_id": 91565,
        "price": "90",
    },
]


async def test_a_product_import_is_waited_until_done_with_per_item_errors() -> None:
    # done by time only (10 s of sandbox time), not after a number of polls
    async with sandbox_env(sandbox={"task_polls": None}) as env:
        checks: list[object] = []
        result = await env.client.product.import_v3.waiting(on_check=checks.append)(items=PRODUCTS)
        assert isinstance(result, TaskResult)
        assert isinstance(result.status, ProductImportInfoV1Response)
        assert result.started is not None and result.started.result is not None
        assert result.task_id == result.started.result.task_id
        assert not result.ok and result.state == "failed"
        assert [i.offer_id for i in result.items] == ["mug-1", "nameless-2", "cup-3"]
        assert [i.status for i in result.items] == ["imported", "failed", "imported"]
        (failed,) = result.failed_items
        assert failed.offer_id == "nameless-2"
        assert failed.errors and failed.errors[0].code == "REQUIRED_FIELD_MISSING"
        assert failed.errors[0].field == "name"
        # the spec's interval (5 s) first, then longer pauses; done after the sandbox's 10 s
        polls = env.sandbox.requests_for(IMPORT_INFO)
        assert len(polls) == result.checks == len(checks) >= 2
        assert polls[0].at - env.sandbox.requests_for(IMPORT)[0].at == 5.0
        assert 10.0 <= result.elapsed <= 20.0
        # the imported products are in the shop now
        assert env.sandbox.state.product_by(offer_id="mug-1") is not None
        assert env.sandbox.state.product_by(offer_id="nameless-2") is None
        with pytest.raises(TaskFailedError, match="1 item"):
            result.raise_for_failed()


async def test_a_timeout_raises_with_the_task_id_and_wait_resumes() -> None:
    async with sandbox_env(sandbox={"task_polls": None}) as env:
        with pytest.raises(TaskTimeoutError) as info:
            await env.client.product.import_v3.waiting(timeout=6.0, interval=2.0)(
                items=PRODUCTS[:1]
            )
        err = info.value
        assert err.task_id is not None and err.last_status is not None
        assert env.sandbox.state.tasks[err.task_id].done is False
        result = await env.client.product.import_v3.wait(err.task_id)
        assert result.ok and result.started is None
        assert [i.status for i in result.items] == ["imported"]


async def test_a_postings_report_is_created_waited_for_downloaded_and_parsed() -> None:
    # ready 30 s of sandbox time after it was created, whatever the number of polls
    async with sandbox_env(sandbox={"report_polls": None}) as env:
        to = env.clock.datetime()
        since = to - timedelta(days=30)
        report = await env.client.report.postings_create_v1.and_wait(
            filter={"processed_at_from": since, "processed_at_to": to}
        )
        assert report.ok and report.state == "success"
        assert report.file_url is not None and report.file_url.startswith(env.sandbox.url)
        states = env.sandbox.requests_for("/v1/report/info")
        assert len(states) == report.checks >= 3  # waiting, processing, success
        assert states[-1].at - env.sandbox.requests_for("/v1/report/postings/create")[0].at >= 30
        data = await report.download()
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
        expected = [
            p
            for p in env.sandbox.state.postings.values()
            if since.timestamp() <= p.in_process_at <= to.timestamp()
        ]
        assert expected and len(rows) == sum(len(p.products) for p in expected)
        assert {r["Номер отправления"] for r in rows} == {p.posting_number for p in expected}
        by_number = {p.posting_number: p for p in expected}
        for r in rows:
            assert r["Статус"] == by_number[r["Номер отправления"]].status
        # the file's request carried none of Ozon's credentials
        (headers,) = env.file_requests
        assert not {k.lower() for k in headers} & {"client-id", "api-key", "authorization"}


async def test_a_warehouse_operation_that_ends_in_error() -> None:
    async with bulk_env() as env:
        result = await env.client.warehouse.archive_v1(warehouse_id=5, reason="closing")
        assert result.operation_id
        done = await env.client.warehouse.archive_v1.wait(result.operation_id)
        assert not done.ok and done.state == "ERROR" and done.error == "has postings"
        with pytest.raises(TaskFailedError, match="has postings"):
            await done.download()


async def test_an_exemplar_check_is_waited_by_posting_number() -> None:
    async with bulk_env() as env:
        result = await env.client.fbs.posting_product_exemplar_set_v6.and_wait(
            posting_number="1-2-3", products=[]
        )
        assert result.ok and result.task_id == "1-2-3" and result.state == "ship_available"


def test_every_task_links_to_a_status_operation_that_reads() -> None:
    tasks = {k: op.task for k, op in OPERATIONS.items() if op.task is not None}
    assert tasks["POST /v3/product/import"].status == "POST /v1/product/import/info"  # type: ignore[union-attr]
    assert tasks["POST /v1/report/postings/create"].status == "POST /v1/report/info"  # type: ignore[union-attr]
    assert "POST /v1/warehouse/fbs/create" in tasks and "POST /v1/finance/compensation" in tasks
    for key, task in tasks.items():
        assert task is not None
        status = OPERATIONS[task.status]
        assert status.safe, key
        assert task.done and (task.state is None) != (task.items is None), key
