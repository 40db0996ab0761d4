"""The scripts in examples/ run as written against the bundled sandbox, and they type-check under
``mypy --strict`` without a cast, a ``type: ignore`` or an ``or []`` (answer lists are never
None)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"


def run(script: str, *args: str, cwd: Path, timeout: float = 180) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OZON_")}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, (pattern, text)
    return int(found.group(1))


def test_the_quickstart_uses_the_helpers_and_runs(tmp_path: Path) -> None:
    out = run("quickstart.py", cwd=tmp_path)
    steps = re.findall(r"^(\d+)\. ", out, flags=re.M)
    assert steps == [str(i) for i in range(1, len(steps) + 1)] and len(steps) >= 8
    assert "'DEMO-BAD': 'failed'" in out and "DEMO-BAD: name:" in out
    assert re.search(r"stocks: 3 of 3 updates applied in 2 requests", out)
    assert re.search(r"report \S+ success after \d+ checks: \d+ rows", out)
    assert "sent 1 time(s), not retried" in out
    source = (EXAMPLES / "quickstart.py").read_text()
    for helper in (".and_wait(", ".bulk(", ".download(", ".iter("):
        assert helper in source
    assert "while True" not in source and "aiohttp" not in source and "sleep(" not in source


def test_order_sync_ships_and_saves_labels(tmp_path: Path) -> None:
    out = run("order_sync.py", "labels", cwd=tmp_path)
    shipped = number(r"shipped (\d+) postings", out)
    files = sorted((tmp_path / "labels").glob("*.pdf"))
    assert shipped > 0 and len(files) >= 2  # a file per label size
    assert all(f.read_bytes().startswith(b"%PDF") for f in files)


def test_stock_and_price_push_applies_everything(tmp_path: Path) -> None:
    out = run("push_stocks_prices.py", cwd=tmp_path)
    stocks = re.search(
        r"stocks: (\d+) applied, 0 failed, 0 to send later; requests sent: (\d+)", out
    )
    prices = re.search(r"prices: (\d+) applied, 0 failed", out)
    assert stocks and prices, out
    # 100 pairs per request (one more when a request is refused and resent on a loaded machine)
    needed = -(-int(stocks.group(1)) // 100)
    assert needed <= int(stocks.group(2)) <= needed + 2


def test_report_is_waited_for_and_downloaded(tmp_path: Path) -> None:
    out = run("report_download.py", "products.csv", cwd=tmp_path)
    assert "report: success" in out
    text = (tmp_path / "products.csv").read_text("utf-8-sig")
    assert text.startswith("Артикул;") and len(text.splitlines()) > 10


def test_the_oauth_app_renews_a_refused_token(tmp_path: Path) -> None:
    out = run("oauth_app.py", cwd=tmp_path)
    assert "warehouses after 2 attempts (2 tokens issued; the first was refused)" in out


def test_workers_share_one_budget_through_redis(tmp_path: Path) -> None:
    from tests._redis import REQUIRE_ENV, RedisServer, RedisUnavailable

    server = RedisServer()
    try:
        server.start()
    except RedisUnavailable as exc:
        if os.environ.get(REQUIRE_ENV):
            raise
        pytest.skip(f"needs a local redis-server: {exc}")
    try:
        out = run("redis_workers.py", server.url, "3", cwd=tmp_path)
    finally:
        server.close()
    assert out.count("worker: 20 calls answered") == 3
    busiest = number(r"the busiest second had (\d+)", out)
    # 3 x 20 calls at 20 per second: paced over about three seconds, never all at once
    assert 15 <= busiest <= 24, out


def test_the_examples_type_check_strictly_without_casts_or_ignores() -> None:
    sources = {p.name: p.read_text() for p in EXAMPLES.glob("*.py")}
    assert len(sources) >= 6
    for name, text in sources.items():
        for banned in ("cast(", "type: ignore", "or []", "Any"):
            assert banned not in text, (name, banned)
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", str(EXAMPLES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
