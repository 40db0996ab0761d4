"""The ``ozon`` workflows end to end: ``stocks push``, ``prices push``, ``report postings`` and
``mcp``, running the real console script in a subprocess against the sandbox (served from this
process on a free loopback port, on real time); where a test checks what a command sends,
prints and exits with (not a terminal, a pipe or the process), it runs the command line through
Click in this process (``run_here``)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ozon_async.testing import Sandbox, ScaledClock
from ozon_async.testing._state import Product
from tests.test_cli import (
    ANSI,
    CLIENT_ID,
    SECRET,
    ServedMock,
    api_env,
    base_env,
    run,
    run_here,
    run_in_pty,
    text,
)

STOCKS = "/v2/products/stocks"
PRICES = "/v1/product/import/prices"


class ServedShop(ServedMock):
    """The sandbox of tests/test_cli.py (seed 3, its history ending on 2026-01-31, real time)
    with more products, so that each test can update pairs no other test touched."""

    def start(self) -> ServedShop:
        self.thread.start()

        async def boot() -> Sandbox:
            clock = ScaledClock(start=datetime(2026, 1, 31, 12, tzinfo=timezone.utc))
            shop = Sandbox(seed=3, clock=clock, products=400, client_id=CLIENT_ID, api_key=SECRET)
            return await shop.start()

        self.server = asyncio.run_coroutine_threadsafe(boot(), self.loop).result(30)
        return self


@pytest.fixture(scope="module")
def shop() -> Iterator[ServedMock]:
    served = ServedShop().start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(autouse=True)
def _fresh(shop: ServedMock) -> None:
    shop.admin("reset")
    shop.admin("clear_faults")


class Products:
    """Hands out products of the sandbox that no earlier test updated (a pair may change once
    per 30 s of real time)."""

    def __init__(self, served: ServedMock) -> None:
        assert served.server is not None
        state = served.server.state
        self.warehouses = sorted(state.warehouses)
        self.free = sorted(
            (p for p in state.products.values() if not p.archived), key=lambda p: p.product_id
        )

    def take(self, n: int) -> list[Product]:
        taken, self.free = self.free[:n], self.free[n:]
        assert len(taken) == n
        return taken


@pytest.fixture(scope="module")
def products(shop: ServedMock) -> Products:
    return Products(shop)


def write_csv(path: Path, header: str, rows: list[str], sep: str = ",") -> Path:
    path.write_text("\n".join([header, *rows]).replace(",", sep) + "\n", encoding="utf-8")
    return path


def available(shop: ServedMock, offer_id: str, warehouse_id: int) -> int:
    assert shop.server is not None
    p = shop.server.state.product_by(offer_id=offer_id)
    assert p is not None
    return p.stocks.get(warehouse_id, 0) - p.reserved.get(warehouse_id, 0)


def report_rows(data: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data, newline="")))


# ---------------------------------------------------------------------- stocks push
def test_stocks_push_reports_per_item_failures(
    tmp_path: Path, shop: ServedMock, products: Products
) -> None:
    wh = products.warehouses
    good = products.take(60)
    rows = [
        f"{p.offer_id},{w},{(i + j) % 40}" for i, p in enumerate(good) for j, w in enumerate(wh[:2])
    ]
    rows[7] = f"{good[3].offer_id},404,5"  # line 9: no such warehouse
    rows[50] = f"NO-SUCH-OFFER,{wh[0]},1"  # line 52: no such product
    rows.append(f"{good[0].offer_id},{wh[0]},33")  # line 122: the pair of line 2 again
    source = write_csv(tmp_path / "stocks.csv", "offer_id,warehouse_id,stock", rows, sep=";")

    env = api_env(tmp_path, shop)
    proc = run_here("stocks", "push", str(source), "--max-wait", "0", env=env)
    out, err = text(proc)
    assert proc.returncode == 1, err
    report = report_rows(out)
    assert [(r["line"], r["status"], r["code"]) for r in report] == [
        ("9", "failed", "WAREHOUSE_NOT_FOUND"),
        ("52", "failed", "NOT_FOUND"),
        ("122", "retry_later", "TOO_MANY_REQUESTS"),
    ]
    assert report[0]["offer_id"] == good[3].offer_id and report[0]["warehouse_id"] == "404"
    assert "404" in report[0]["message"]
    assert 29.0 <= float(report[2]["retry_after"]) <= 31.5 and report[2]["stock"] == "33"
    # 121 rows: 120 in 2 requests, the repeat left for later
    assert [len(r["body"]["stocks"]) for r in shop.requests(STOCKS)] == [100, 20]
    assert "121 items in 2 requests: 118 applied, 2 failed, 1 to send again" in err
    assert available(shop, good[1].offer_id, wh[1]) == (1 + 1) % 40
    assert available(shop, good[0].offer_id, wh[0]) == 0  # the first value of the pair

    # --report FILE: the same lines in a file, nothing on stdout; all applied: exit code 0
    more = products.take(3)
    source = write_csv(
        tmp_path / "more.csv",
        "product_id,warehouse_id,stock",
        [f"{p.product_id},{wh[2]},7" for p in more],
    )
    target = tmp_path / "failed.csv"
    proc = run_here("stocks", "push", str(source), "--report", str(target), env=env)
    out, err = text(proc)
    assert proc.returncode == 0, err
    assert out == "" and report_rows(target.read_text()) == []
    assert target.read_text().startswith("line,status,code,message,retry_after,product_id,")
    assert all(available(shop, p.offer_id, wh[2]) == 7 for p in more)


def test_stocks_push_checks_every_row_first_and_sends_nothing_if_one_is_bad(
    tmp_path: Path, shop: ServedMock, products: Products
) -> None:
    (p,) = products.take(1)
    rows = [
        f"{p.offer_id},1,5",
        f"{p.offer_id},,5",  # line 3: no warehouse
        f"{p.offer_id},1,many",  # line 4
        ",1,5",  # line 5: which offer?
        f"{p.offer_id},1,5,extra",  # line 6
    ]
    source = write_csv(tmp_path / "bad.csv", "offer_id,warehouse_id,stock", rows)
    proc = run_here("stocks", "push", str(source), env=api_env(tmp_path, shop))
    out, err = text(proc)
    assert proc.returncode == 2 and out == ""
    assert "4 invalid rows" in err and "nothing was sent" in err
    assert "line 3: " in err and "warehouse_id" in err.split("line 3: ")[1].splitlines()[0]
    assert re.search(r"line 4: stock: Expected `int`", err)
    assert "line 5: one of `offer_id`, `product_id` is required" in err  # the model says so
    assert "line 6: more cells than columns" in err
    assert "line 2" not in err

    source = write_csv(tmp_path / "cols.csv", "offer_id,warehouse,stock", [f"{p.offer_id},1,5"])
    proc = run_here("stocks", "push", str(source), env=api_env(tmp_path, shop))
    assert proc.returncode == 2
    assert "unknown column(s) 'warehouse'" in proc.stderr.decode()
    assert "offer_id, product_id" in proc.stderr.decode() or "stock" in proc.stderr.decode()

    proc = run_here("stocks", "push", str(tmp_path / "missing.csv"), env=api_env(tmp_path, shop))
    assert proc.returncode == 2 and "cannot read" in proc.stderr.decode()
    assert shop.requests() == []


def test_stocks_push_progress_on_a_terminal_and_not_when_piped(
    tmp_path: Path, shop: ServedMock, products: Products
) -> None:
    wh = products.warehouses
    rows = [f"{p.offer_id},{wh[3]},3" for p in products.take(30)]
    source = write_csv(tmp_path / "s.csv", "offer_id,warehouse_id,stock", rows)
    env = api_env(tmp_path, shop)
    env["TERM"] = "xterm-256color"
    code, screen = run_in_pty(
        ["stocks", "push", str(source), "--report", str(tmp_path / "r.csv")], env
    )
    assert code == 0, screen
    plain = ANSI.sub("", screen)
    assert re.search(r"stocks push\s.*30/30 items", plain), plain
    assert "30 items in 1 request: 30 applied, 0 failed" in plain

    rows = [f"{p.offer_id},{wh[3]},4" for p in products.take(30)]
    source = write_csv(tmp_path / "t.csv", "offer_id,warehouse_id,stock", rows)
    piped = run("stocks", "push", str(source), env=env)
    assert piped.returncode == 0
    err = piped.stderr.decode()
    assert "30/30" not in err and "\x1b" not in err
    assert err.count("\n") == 1


def test_stocks_push_dry_run_sends_nothing(
    tmp_path: Path, shop: ServedMock, products: Products
) -> None:
    rows = [f"{p.offer_id},1,1" for p in products.take(3)]
    source = write_csv(tmp_path / "s.csv", "offer_id,warehouse_id,stock", rows)
    proc = run_here("stocks", "push", str(source), "--dry-run", env=base_env(tmp_path))
    assert proc.returncode == 0
    assert "3 valid rows" in proc.stderr.decode() and "nothing was sent" in proc.stderr.decode()
    assert shop.requests() == []


# ---------------------------------------------------------------------- prices push
def test_prices_push_reads_stdin_and_reports_ozons_per_item_codes(
    tmp_path: Path, shop: ServedMock, products: Products
) -> None:
    a, b, c = products.take(3)
    data = "\ufeffoffer_id;price;old_price\n" + "\n".join(
        [f"{a.offer_id};1490.00;1990.00", f"{b.offer_id};0;", f"{c.offer_id};500;400"]
    )
    proc = run("prices", "push", "-", env=api_env(tmp_path, shop), input=data.encode())
    out, err = text(proc)
    assert proc.returncode == 1, err
    assert [(r["line"], r["code"]) for r in report_rows(out)] == [
        ("3", "INVALID_PRICE"),
        ("4", "INVALID_OLD_PRICE"),
    ]
    [sent] = shop.requests(PRICES)
    assert sent["body"]["prices"][0] == {
        "offer_id": a.offer_id,
        "price": "1490.00",
        "old_price": "1990.00",
    }
    assert a.price == "1490.00" and b.price != "0.00"


def test_a_push_with_no_failures_prints_nothing_on_stdout(
    tmp_path: Path, shop: ServedMock, products: Products
) -> None:
    (a,) = products.take(1)
    data = f"offer_id,price\n{a.offer_id},990.00\n"
    proc = run_here("prices", "push", "-", env=api_env(tmp_path, shop), input=data.encode())
    out, err = text(proc)
    assert proc.returncode == 0, err
    assert out == ""  # no CSV header alone
    assert "1 item in 1 request: 1 applied, 0 failed" in err


# ---------------------------------------------------------------------- report postings
def test_report_postings_creates_waits_and_downloads_a_csv(
    tmp_path: Path, shop: ServedMock
) -> None:
    target = tmp_path / "postings.csv"
    args = ["report", "postings", "--since", "2026-01-01", "--to", "2026-01-31"]
    proc = run_here(*args, "--out", str(target), "--interval", "0.2", env=api_env(tmp_path, shop))
    out, err = text(proc)
    assert proc.returncode == 0, err
    assert out == ""
    [created] = shop.requests("/v1/report/postings/create")
    assert created["body"]["filter"] == {
        "processed_at_from": "2026-01-01T00:00:00Z",
        "processed_at_to": "2026-01-31T23:59:59Z",
    }
    checks = len(shop.requests("/v1/report/info"))
    assert checks >= 2 and f"ready after {checks} checks" in err
    assert f"bytes written to {target}" in err
    assert "waiting for the postings report" not in err  # no spinner when not a terminal
    rows = list(csv.DictReader(io.StringIO(target.read_text("utf-8-sig")), delimiter=";"))
    assert shop.server is not None
    since = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()
    to = datetime(2026, 1, 31, 23, 59, 59, tzinfo=timezone.utc).timestamp()
    expected = [p for p in shop.server.state.postings.values() if since <= p.in_process_at <= to]
    assert expected and len(rows) == sum(len(p.products) for p in expected)
    assert {r["Номер отправления"] for r in rows} == {p.posting_number for p in expected}


def test_report_postings_shows_a_spinner_on_a_terminal(tmp_path: Path, shop: ServedMock) -> None:
    env = api_env(tmp_path, shop)
    env["TERM"] = "xterm-256color"
    args = [
        "report",
        "postings",
        "--since",
        "2026-01-01",
        "--to",
        "2026-01-31",
        "--interval",
        "0.5",
    ]
    code, screen = run_in_pty([*args, "--out", str(tmp_path / "p.csv")], env)
    assert code == 0, screen
    plain = ANSI.sub("", screen)
    assert "waiting for the postings report: waiting" in plain
    assert "ready after" in plain and (tmp_path / "p.csv").stat().st_size > 0


def test_report_postings_options_are_checked_before_anything_is_sent(
    tmp_path: Path, shop: ServedMock
) -> None:
    env = api_env(tmp_path, shop)
    base = ["report", "postings", "--out", str(tmp_path / "r.csv")]
    bad: list[list[Any]] = [
        ["--since", "yesterday", "--to", "2026-01-31"],
        ["--since", "2026-02-01", "--to", "2026-01-31"],
    ]
    for args in bad:
        proc = run_here(*base, *args, env=env)
        assert proc.returncode == 2, proc.stderr
    assert b"not a date" in run_here(*base, *bad[0], env=env).stderr
    assert shop.requests() == [] and not (tmp_path / "r.csv").exists()


def test_report_postings_that_fails_exits_1(tmp_path: Path, shop: ServedMock) -> None:
    shop.admin("faults", {"path": "/v1/report/postings/create", "status": 403,
                          "body": {"code": 7, "message": "no access to reports", "details": []}})  # fmt: skip
    args = ["report", "postings", "--since", "2026-01-01", "--to", "2026-01-02", "-o", "-"]
    proc = run_here(*args, env=api_env(tmp_path, shop))
    assert proc.returncode == 1
    assert (
        "Ozon answered 403" in proc.stderr.decode()
        and "no access to reports" in proc.stderr.decode()
    )
    assert proc.stdout == b""


# ---------------------------------------------------------------------- mcp
def test_ozon_mcp_is_the_mcp_servers_command_line(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    proc = run("mcp", "--help", env=env)
    out, _ = text(proc)
    assert proc.returncode == 0
    assert out.startswith("usage: ozon mcp") and "--allow-destructive" in out and "--sandbox" in out
    proc = run("mcp", "--sandbox", "--budget", "10", env=env)
    assert proc.returncode == 2 and "--budget must be at least" in proc.stderr.decode()
    assert SECRET not in proc.stderr.decode()
