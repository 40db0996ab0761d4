"""Task waiters end to end on the stateful fake (tests/_bulk_server.py), time on a virtual clock."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from ozon_async import OPERATIONS
from ozon_async.bulk import TaskFailedError, TaskResult, TaskTimeoutError
from ozon_async.types.product import ProductImportInfoV1Response
from tests._bulk_server import bulk_env

PRODUCTS = [
    {"offer_id": "good-1", "description_category_id": 17028922, "type_id": 91565, "price": "100"},
    {"offer_id": "bad-2", "description_category_id": 1, "type_id": 1, "price": "100"},
    {"offer_id": "good-3", "description_category_id": 17028922, "type_id": 91565, "price": "90"},
]


async def test_a_product_import_is_waited_until_done_with_per_item_errors() -> None:
    async with bulk_env() as env:
        checks: list[object] = []
        result = await env.client.product.import_v3.waiting(on_check=checks.append)(items=PRODUCTS)
        assert isinstance(result, TaskResult)
        assert isinstance(result.status, ProductImportInfoV1Response)
        assert result.started is not None and result.started.result is not None
        assert result.task_id == result.started.result.task_id
        assert not result.ok and result.state == "failed"
        assert [i.offer_id for i in result.items] == ["good-1", "bad-2", "good-3"]
        (failed,) = result.failed_items
        assert failed.offer_id == "bad-2" and failed.status == "failed"
        assert failed.errors and failed.errors[0].code == "DESCRIPTION_CATEGORY_NOT_FOUND"
        # the spec's interval (5 s) first, then longer pauses; done after the fake's 10 s
        polls = env.fake.requests_for("/v1/product/import/info")
        assert len(polls) == result.checks == len(checks) >= 2
        assert polls[0].at - env.fake.requests_for("/v3/product/import")[0].at == 5.0
        assert 10.0 <= result.elapsed <= 20.0
        with pytest.raises(TaskFailedError, match="1 item"):
            result.raise_for_failed()


async def test_a_timeout_raises_with_the_task_id_and_wait_resumes() -> None:
    async with bulk_env() as env:
        with pytest.raises(TaskTimeoutError) as info:
            await env.client.product.import_v3.waiting(timeout=6.0, interval=2.0)(
                items=PRODUCTS[:1]
            )
        err = info.value
        assert err.task_id is not None and err.last_status is not None
        assert env.clock.now() <= 6.5  # the last check fell on the deadline
        result = await env.client.product.import_v3.wait(err.task_id)
        assert result.ok and result.started is None
        assert [i.status for i in result.items] == ["imported"]


async def test_a_postings_report_is_created_waited_for_downloaded_and_parsed() -> None:
    async with bulk_env() as env:
        report = await env.client.report.postings_create_v1.and_wait(
            filter={
                "processed_at_from": datetime(2026, 1, 1, tzinfo=timezone.utc),
                "processed_at_to": datetime(2026, 1, 31, tzinfo=timezone.utc),
            }
        )
        assert report.ok and report.state == "success"
        assert report.file_url is not None and report.file_url.startswith(env.fake.files.url)
        states = [r.at for r in env.fake.requests_for("/v1/report/info")]
        assert len(states) == report.checks >= 3  # waiting, processing, success
        data = await report.download()
        rows = list(csv.DictReader(io.StringIO(data.decode()), delimiter=";"))
        assert [r["posting_number"] for r in rows] == ["1000-0-1", "1000-1-1", "1000-2-1"]
        assert rows[2]["price"] == "102.50"
        # the file's host never saw Ozon's credentials
        (headers,) = env.fake.files.seen
        lowered = {k.lower() for k in headers}
        assert not lowered & {"client-id", "api-key", "authorization", "cookie"}


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
