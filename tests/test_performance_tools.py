"""The Performance API through the command line (``ozon perf ...``) and the MCP server's five
tools, against the Performance sandbox on a loopback port."""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ozon_async.profiles import Profile
from ozon_async.testing import PerformanceSandbox, ScaledClock
from tests.conftest import ROOT

CLIENT_ID = "12345678-1700000000000@advertising.performance.ozon.ru"
SECRET = "perf-cli-secret-7a61c0de93"


class Served:
    """A Performance sandbox on a thread of its own (the CLI runs in another process), with its
    time running 200 times faster than real time."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.sandbox: PerformanceSandbox | None = None
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)

            async def start() -> None:
                self.sandbox = await PerformanceSandbox(
                    seed=5, clock=ScaledClock(speed=200), campaigns=14
                ).start()
                ready.set()

            self.loop.run_until_complete(start())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(10)

    def stop(self) -> None:
        assert self.sandbox is not None
        asyncio.run_coroutine_threadsafe(self.sandbox.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def served() -> Iterator[PerformanceSandbox]:
    s = Served()
    assert s.sandbox is not None
    yield s.sandbox
    s.stop()


def ozon(sandbox: PerformanceSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OZON_", "XDG_CONFIG"))}
    env.update(
        OZON_PERFORMANCE_CLIENT_ID=CLIENT_ID,
        OZON_PERFORMANCE_CLIENT_SECRET=SECRET,
        OZON_PERFORMANCE_BASE_URL=sandbox.url,
        OZON_ASYNC_CONFIG=str(ROOT / "tests" / "data" / "no-such-config.toml"),
    )
    return subprocess.run(
        [sys.executable, "-m", "ozon_async", "perf", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def ozon_here(sandbox: PerformanceSandbox, *args: str) -> subprocess.CompletedProcess[str]:
    """:func:`ozon` run by Click in this process (what the commands send and print is what
    these tests check; ``python -m ozon_async perf`` itself runs in the ops test)."""
    from click.testing import CliRunner

    from ozon_async.cli.app import cli
    from tests.test_cli import _cli_logging_restored

    env: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith(("OZON_", "XDG_CONFIG"))
    }
    env.update(
        OZON_PERFORMANCE_CLIENT_ID=CLIENT_ID,
        OZON_PERFORMANCE_CLIENT_SECRET=SECRET,
        OZON_PERFORMANCE_BASE_URL=sandbox.url,
        OZON_ASYNC_CONFIG=str(ROOT / "tests" / "data" / "no-such-config.toml"),
    )
    with _cli_logging_restored():
        result = CliRunner().invoke(cli, ["perf", *args], prog_name="ozon", env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a crash, not an exit code
    return subprocess.CompletedProcess(
        ["ozon", "perf", *args], result.exit_code, result.stdout, result.stderr
    )


def test_perf_ops_lists_and_describes_operations(served: PerformanceSandbox) -> None:
    found = ozon(served, "ops", "bids")
    assert found.returncode == 0, found.stderr
    assert "product.competitive_bids" in found.stdout
    described = ozon(served, "ops", "statistics.submit")
    assert "POST /api/client/statistics" in described.stdout and ".and_wait" in described.stdout


def test_perf_call_sends_query_parameters_and_validates(served: PerformanceSandbox) -> None:
    ids = served.campaign_ids()
    page = ozon_here(served, "call", "campaign.list", f"campaignIds:=[{ids[0]}, {ids[1]}]")
    assert page.returncode == 0, page.stderr
    assert sorted(c["id"] for c in json.loads(page.stdout)["list"]) == ids[:2]
    bad = ozon_here(served, "call", "campaign.list", "state=RUNNING")
    assert bad.returncode == 2 and "state" in bad.stderr and "nothing was sent" in bad.stderr
    daily = ozon_here(
        served,
        "call",
        "statistics.daily",
        f"campaignIds:=[{ids[0]}]",
        "dateFrom=2026-03-01",
        "dateTo=2026-03-02",
    )
    assert daily.returncode == 0 and daily.stdout.count("\n") == 3
    assert SECRET not in page.stderr + bad.stderr + daily.stderr


def test_perf_statistics_exports_csv_by_the_rules(
    served: PerformanceSandbox, tmp_path: Path
) -> None:
    ids = served.campaign_ids()[:12]
    out = tmp_path / "stats.csv"
    raw = tmp_path / "raw"
    plan = ozon_here(
        served,
        "statistics",
        "--campaigns",
        ",".join(map(str, ids)),
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-10",
        "--dry-run",
    )
    assert plan.stdout.count("export ") == 4, plan.stdout  # 2 groups of 6 x 2 periods
    done = ozon_here(
        served,
        "statistics",
        "--campaigns",
        ",".join(map(str, ids)),
        "--from",
        "2026-01-01",
        "--to",
        "2026-03-10",
        "--out",
        str(out),
        "--raw-dir",
        str(raw),
        "--interval",
        "0.05",
    )
    assert done.returncode == 0, done.stderr
    assert "from 4 exports" in done.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    days = {r["date"] for r in rows}
    assert len(days) == 69 and {int(r["campaign_id"]) for r in rows} == set(ids)
    assert len(list(raw.iterdir())) == 12 * 2
    assert served.max_concurrent_exports == 1
    assert SECRET not in done.stderr


def test_the_readme_example_runs_as_shown() -> None:
    from tests._readme import readme_examples, run_example

    ((code, shown),) = readme_examples("Advertising (Performance API)")
    assert shown is not None
    assert run_example(code) == shown


# ---------------------------------------------------------------------------- MCP
# (the MCP SDK, about a second to import, loads when a test needs it, not at collection)
if importlib.util.find_spec("mcp") is None:
    pytest.skip("the MCP SDK (mcp) is not installed", allow_module_level=True)


async def test_the_mcp_tools_reach_the_performance_api_in_the_sandbox() -> None:
    from mcp import Client

    from ozon_async.mcp import OzonMCP

    async with OzonMCP(sandbox=True) as app, Client(app.server) as client:
        assert app.shops is not None and app.shops.performance is not None

        async def call(tool: str, **arguments: Any) -> tuple[Any, bool]:
            result = await client.call_tool(tool, arguments)
            text = result.content[0].text  # type: ignore[union-attr]
            return json.loads(text), result.is_error

        found, _ = await call("search_operations", query="campaign bids")
        ids = [o["id"] for o in found["operations"]]
        assert "perf.product.competitive_bids" in ids
        assert "perf.token.issue" not in str(found)
        seller, _ = await call("search_operations", query="stocks")
        assert any(not o["id"].startswith("perf.") for o in seller["operations"])
        described, _ = await call("describe_operation", operation="perf.campaign.list")
        assert described["api"].startswith("performance")
        assert "campaignIds" in described["arguments_schema"]["properties"]
        page, error = await call(
            "call_read", operation="perf.campaign.list", arguments={"pageSize": 3}
        )
        assert not error, page
        campaign = page["result"]["list"][0]["id"]
        products, _ = await call(
            "call_read",
            operation="perf.product.list_v2",
            arguments={"campaignId": campaign},
        )
        sku = products["result"]["products"][0]["sku"]
        # a bid change is a write: previewed, then sent only with confirm
        args = {"campaignId": campaign, "bids": [{"sku": sku, "bid": 33000000}]}
        wrong, error = await call("call_read", operation="perf.product.update", arguments=args)
        assert error and wrong["error"]["type"] == "wrong_tool"
        preview, _ = await call("call_write", operation="perf.product.add", arguments=args)
        assert preview["sent"] is False
        sent, error = await call(
            "call_write", operation="perf.product.add", arguments=args, confirm=True
        )
        assert not error and sent["sent"] is True
        perf = app.sandbox_server.performance
        assert perf.campaigns[campaign].products[sku]["bid"] == 33000000
        # destructive ones (replacing all bids) stay refused without --allow-destructive
        refused, error = await call(
            "call_write", operation="perf.product.update", arguments=args, confirm=True
        )
        assert error and refused["error"]["type"] == "not_allowed"
        walked, _ = await call("fetch_all", operation="perf.campaign.list", max_items=50)
        assert walked["complete"] and walked["count"] == len(perf.campaigns)
        token, error = await call("call_write", operation="POST /api/client/token")
        assert error and token["error"]["type"] == "wrong_tool"


async def test_without_performance_credentials_the_tools_say_so() -> None:
    from ozon_async.mcp import OzonMCP
    from ozon_async.testing import Sandbox

    async with Sandbox() as sandbox:
        profile = Profile("main", "111", "mcp-key-0123456789abcdef", base_url=sandbox.url)
        async with OzonMCP([profile]) as app:
            assert app.tools is not None
            found = await app.tools.search_operations("campaign")
            assert not any(o["id"].startswith("perf.") for o in found.payload["operations"])
            text, is_error = await app.call("call_read", {"operation": "perf.campaign.list"})
            assert is_error and "not_configured" in text


async def test_a_profile_with_performance_credentials_gives_the_tools_a_client() -> None:
    from ozon_async.mcp import OzonMCP

    async with PerformanceSandbox(seed=2) as perf:
        profile = Profile(
            "ads",
            performance_client_id=CLIENT_ID,
            performance_client_secret=SECRET,
            performance_base_url=perf.url,
        )
        async with OzonMCP([profile]) as app:
            text, is_error = await app.call(
                "call_read", {"operation": "perf.campaign.limits", "arguments": {}}
            )
            assert not is_error, text
            assert SECRET not in text
            assert app.shops is not None and app.shops.clients == {}
