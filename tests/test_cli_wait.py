"""``ozon call OP --wait [--download FILE]``: every operation that starts a background task is
started, waited for with progress, and its file downloaded; on the sandbox, for a product import
and a stock report (the real ``ozon`` in a subprocess)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ozon_async import OPERATIONS
from tests.test_cli import ServedMock, api_env, run, text


@pytest.fixture(scope="module")
def mock() -> Iterator[ServedMock]:
    served = ServedMock().start()
    try:
        yield served
    finally:
        served.stop()


def test_a_product_import_is_waited_for(tmp_path: Path, mock: ServedMock) -> None:
    items = [
        {"offer_id": "WAIT-1", "name": "Кружка", "price": "590.00"},
        {"offer_id": "WAIT-2", "name": "", "price": "0"},
    ]
    for item in items:
        item.update(description_category_id=17028922, type_id=94765, vat="0.2")
    (tmp_path / "items.json").write_text(json.dumps({"items": items}))
    proc = run(
        "call", "product.import_v3", "--json", f"@{tmp_path / 'items.json'}", "--wait",
        "--interval", "0.2", "--progress", env=api_env(tmp_path, mock),
    )  # fmt: skip
    out, err = text(proc)
    assert proc.returncode == 1, err  # one item failed
    final = json.loads(out)
    states = {i["offer_id"]: i["status"] for i in final["result"]["items"]}
    assert states == {"WAIT-1": "imported", "WAIT-2": "failed"}
    assert "started task" in err and "check" in err
    assert "failed after" in err and "1 item failed" in err
    checks = len(mock.requests("/v1/product/import/info"))
    assert checks >= 2 and f"after {checks} checks" in err


def test_a_stock_report_is_waited_for_and_downloaded(tmp_path: Path, mock: ServedMock) -> None:
    env = api_env(tmp_path, mock)
    listed = run("call", "warehouse.list_v2", "limit:=1", env=env)
    warehouse = json.loads(listed.stdout)["warehouses"][0]["warehouse_id"]
    target = tmp_path / "stocks.xlsx"
    proc = run(
        "call", "report.warehouse_stock_v1", f"warehouseId:=[{warehouse}]", "--wait",
        "--download", str(target), "--interval", "0.2", "--progress", env=env,
    )  # fmt: skip
    out, err = text(proc)
    assert proc.returncode == 0, err
    assert json.loads(out)["result"]["status"] == "success"
    assert target.read_bytes().startswith(b"PK")  # an XLSX is a zip
    assert f"bytes written to {target}" in err
    lines = [ln for ln in err.splitlines() if "waiting" in ln or ": waiting" in ln or "task" in ln]
    assert any("waiting" in ln or "processing" in ln for ln in lines), err  # progress shown


def test_wait_is_refused_where_there_is_no_task(tmp_path: Path, mock: ServedMock) -> None:
    before = len(mock.requests("/v3/product/import"))
    proc = run("call", "warehouse.list_v2", "limit:=1", "--wait", env=api_env(tmp_path, mock))
    _, err = text(proc)
    assert proc.returncode == 2 and "does not start a background task" in err
    proc = run(
        "call", "product.import_v3", "items:=[]", "--wait", "--download", "x",
        env=api_env(tmp_path, mock),
    )  # fmt: skip
    assert proc.returncode == 2 and "makes no file" in text(proc)[1]
    assert len(mock.requests("/v3/product/import")) == before  # nothing was sent


def test_every_task_operation_accepts_wait() -> None:
    """--wait is generic: it applies to every operation with x-ozon-task (none is special)."""
    from ozon_async.cli._wait import task_problem

    tasks = [op for op in OPERATIONS.values() if op.task is not None]
    assert len(tasks) >= 50
    assert all(task_problem(op, None) is None for op in tasks)
    with_files = [op for op in tasks if op.task is not None and op.task.file is not None]
    assert with_files and all(task_problem(op, Path("f")) is None for op in with_files)


def test_a_call_that_starts_several_tasks_saves_a_file_per_task(
    tmp_path: Path, mock: ServedMock
) -> None:
    """The FBS label flow starts a task per label size: --wait waits for each, and --download
    saves one file per task, named after its kind."""
    env = api_env(tmp_path, mock)
    page = run(
        "call", "posting.fbs_list_v4", "limit:=1", "filter.since=2026-01-01T00:00:00Z",
        "filter.to=2026-01-31T23:59:59Z", 'filter.statuses:=["awaiting_deliver"]', env=env,
    )  # fmt: skip
    number = json.loads(page.stdout)["postings"][0]["posting_number"]
    proc = run(
        "call", "posting.fbs_package_label_create_v3", f'posting_numbers:=["{number}"]',
        "--wait", "--download", str(tmp_path / "labels.pdf"), "--interval", "0.2", env=env,
    )  # fmt: skip
    _, err = text(proc)
    assert proc.returncode == 0, err
    files = sorted(p.name for p in tmp_path.glob("labels-*.pdf"))
    assert len(files) >= 2, (files, err)
    assert all((tmp_path / f).read_bytes().startswith(b"%PDF") for f in files)
