"""End-to-end tests of the ``ozon`` console script: the real ``.venv/bin/ozon`` in a subprocess,
against the mock Ozon API served from this process on a free loopback port. The tests of what a
command makes of its input (and of the ops search) run it through Click in this process instead
(:func:`run_here`): a process costs a third of a second, and they are not about the process."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import io
import json
import logging
import os
import pty
import re
import select
import signal
import stat
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ozon_async import OPERATIONS, OzonClient
from ozon_async.testing import MockOzonServer, ScaledClock

OZON = Path(sys.executable).with_name("ozon")
SECRET = "sk-TEST-5f1c0ffee-do-not-print"
CLIENT_ID = "424242"
FBS = "/v4/posting/fbs/list"
PERIOD = ["filter.since=2026-01-01T00:00:00Z", "filter.to=2026-01-31T23:59:59Z"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


class ServedMock:
    """A MockOzonServer running on its own event loop in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: MockOzonServer | None = None

    def start(self) -> ServedMock:
        self.thread.start()

        async def boot() -> MockOzonServer:
            # The shop's history ends on the last day of PERIOD; time then runs as usual.
            clock = ScaledClock(start=datetime(2026, 1, 31, 12, tzinfo=timezone.utc))
            # several Client-Ids and an OAuth token are used against it: any key is accepted
            # (tests of a wrong key run `ozon sandbox`, which accepts only its own)
            return await MockOzonServer(seed=3, clock=clock, any_key=True).start()

        self.server = asyncio.run_coroutine_threadsafe(boot(), self.loop).result(10)
        return self

    def stop(self) -> None:
        assert self.server is not None
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def admin(self, action: str, data: Any = None) -> Any:
        req = urllib.request.Request(
            f"{self.url}/__admin/{action}",
            data=json.dumps(data if data is not None else {}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = self.admin("requests")
        return [r for r in got if path is None or r["path"] == path]


@pytest.fixture(scope="module")
def mock() -> Iterator[ServedMock]:
    served = ServedMock().start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(autouse=True)
def _fresh(mock: ServedMock) -> None:
    mock.admin("reset")
    mock.admin("clear_faults")


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OZON_")}
    env["OZON_ASYNC_CONFIG"] = str(tmp_path / "no-config.toml")
    env.pop("FORCE_COLOR", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def api_env(tmp_path: Path, mock: ServedMock) -> dict[str, str]:
    env = base_env(tmp_path)
    env.update(OZON_CLIENT_ID=CLIENT_ID, OZON_API_KEY=SECRET, OZON_BASE_URL=mock.url)
    return env


def run(
    *args: str,
    env: dict[str, str],
    input: bytes | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run the console script; every output is checked for the key."""
    assert OZON.exists(), f"the console script is not installed at {OZON} (make install)"
    proc = subprocess.run(
        [str(OZON), *args],
        env=env,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        cwd=cwd,
    )
    assert SECRET.encode() not in proc.stdout + proc.stderr
    return proc


def text(proc: subprocess.CompletedProcess[bytes]) -> tuple[str, str]:
    return proc.stdout.decode(), proc.stderr.decode()


@contextlib.contextmanager
def _cli_logging_restored() -> Iterator[None]:
    """The command line gives the ``ozon_async`` logger back when it closes its session; a
    command that exits early (a usage error) may not get there, and run in the test's process
    it must not change what later tests' ``caplog`` sees."""
    logger = logging.getLogger("ozon_async")
    level, handlers = logger.level, list(logger.handlers)
    try:
        yield
    finally:
        logger.setLevel(level)
        logger.handlers[:] = handlers


def run_here(
    *args: str, env: dict[str, str], input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The command line run by Click in this process, with ``env`` as its whole environment
    (for tests of what it accepts and refuses, which are not about the process: a process
    costs a third of a second). Every output is checked for the key, as :func:`run` does."""
    from click.testing import CliRunner

    from ozon_async.cli.app import cli

    whole = {k: None for k in os.environ if k not in env}
    with _cli_logging_restored():
        result = CliRunner().invoke(
            cli, list(args), prog_name="ozon", env={**whole, **env}, input=input
        )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a crash, not an exit code
    assert SECRET.encode() not in result.stdout_bytes + result.stderr_bytes
    return subprocess.CompletedProcess(
        ["ozon", *args], result.exit_code, result.stdout_bytes, result.stderr_bytes
    )


def ops(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    """``ozon ops ARGS`` run by Click in this process (what the search finds and how it is
    printed is what the ops tests check; the console script itself runs in the other tests,
    ``ozon ops`` too, and each process costs a third of a second)."""
    from click.testing import CliRunner

    from ozon_async.cli.app import cli

    env = {"OZON_ASYNC_CONFIG": str(tmp_path / "no-config.toml")}
    with _cli_logging_restored():
        result = CliRunner().invoke(cli, ["ops", *args], prog_name="ozon", env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a crash, not an exit code
    return subprocess.CompletedProcess(
        ["ozon", "ops", *args], result.exit_code, result.stdout_bytes, result.stderr_bytes
    )


# ---------------------------------------------------------------------- ops
def test_ops_searches_names_paths_summaries_and_chinese_titles(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    out, _ = text(run("ops", "stocks", env=env))
    names = [line.split("\t")[0] for line in out.splitlines()]
    assert "products.stocks_v2" in names
    assert all("stock" in line.lower() for line in out.splitlines())

    out, _ = text(ops("更新库存", tmp_path=tmp_path))  # the Chinese title of /v2/products/stocks
    assert "products.stocks_v2\tPOST /v2/products/stocks" in out

    out, _ = text(ops("--group", "posting", tmp_path=tmp_path))
    posting = [o for o in OPERATIONS.values() if o.group == "posting"]
    expected = sorted(f"{o.group}.{o.name}" for o in posting if o.removed is None)
    assert sorted(line.split("\t")[0] for line in out.splitlines()) == expected
    # operations Ozon's reference no longer lists only with --all, marked as removed
    out, _ = text(ops("--group", "posting", "--all", tmp_path=tmp_path))
    assert sorted(line.split("\t")[0] for line in out.splitlines()) == sorted(
        f"{o.group}.{o.name}" for o in posting
    )
    assert "posting.fbs_product_change_v2\tPOST /v2/posting/fbs/product/change" in out
    assert any(line.endswith("(removed)") for line in out.splitlines())

    proc = ops("no-such-thing-anywhere", tmp_path=tmp_path)
    assert proc.returncode == 1
    assert "no operation matches" in proc.stderr.decode()


def test_ops_finds_russian_words_in_any_form(tmp_path: Path) -> None:
    """Russian titles (x-title-ru) match case- and ё/е-insensitively, by the word's stem, and a
    Russian word finds English summaries through the glossary (/v2/products/stocks has no
    "остатки" in its Russian title)."""
    expect = {
        "остатки": "products.stocks_v2\tPOST /v2/products/stocks",
        "Остатков": "analytics.stocks_v1\tPOST /v1/analytics/stocks",
        "склады": "warehouse.list_v2\tPOST /v2/warehouse/list",
        "отправления": "posting.fbs_list_v3\tPOST /v3/posting/fbs/list",
        "этикетка": "posting.fbs_package_label_v2\tPOST /v2/posting/fbs/package-label",
        "ОТЧЁТ ОБ ОСТАТКАХ": "report.warehouse_stock_v1\tPOST /v1/report/warehouse/stock",
    }
    for query, line in expect.items():
        out, _ = text(ops(*query.split(), tmp_path=tmp_path))
        assert line in out, query
    # a word no title or glossary has still finds nothing
    proc = ops("вертолёт", tmp_path=tmp_path)
    assert proc.returncode == 1
    # a removed operation is found by its Russian title with --all only
    out, _ = text(ops("--all", "список", "чатов", tmp_path=tmp_path))
    assert "chat.list_v2\tPOST /v2/chat/list" in out and "(removed)" in out
    out, _ = text(ops("список", "чатов", tmp_path=tmp_path))
    assert "chat.list_v2" not in out and "chat.list_v3" in out


def test_ops_with_a_name_shows_the_documentation(tmp_path: Path) -> None:
    out, _ = text(ops("posting.fbs_list_v4", tmp_path=tmp_path))
    assert out.startswith("posting.fbs_list_v4    POST /v4/posting/fbs/list")
    assert "paginated (cursor)" in out
    assert "Args:" in out and "limit: Number of postings per page" in out

    out, _ = text(ops("POST /v2/products/stocks", tmp_path=tmp_path))
    assert "rate limit: 80 per 60 s" in out
    assert "changes data" in out
    assert "更新库存商品的数量" in out
    assert "Russian title: Обновить количество товаров на складах" in out

    # a removed operation is still described (and callable) by its name
    out, _ = text(ops("chat.list_v2", tmp_path=tmp_path))
    assert "Ozon's reference no longer lists it (since 2026-08-14)" in out
    assert "use chat.list_v3 (POST /v3/chat/list)" in out


# ---------------------------------------------------------------------- call: input forms
def test_call_with_pairs_and_dotted_paths(tmp_path: Path, mock: ServedMock) -> None:
    env = api_env(tmp_path, mock)
    proc = run_here(
        "call",
        "posting.fbs_list_v4",
        "limit=3",
        *PERIOD,
        'filter.statuses:=["delivered","cancelled"]',
        "with.barcodes:=true",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert len(answer["postings"]) == 3
    assert proc.stdout.count(b"\n") == 1  # compact when piped
    [sent] = mock.requests(FBS)
    assert sent["body"] == {
        "limit": 3,  # "3" typed as a string, converted by the request model like a typed call
        "filter": {
            "since": "2026-01-01T00:00:00Z",
            "to": "2026-01-31T23:59:59Z",
            "statuses": ["delivered", "cancelled"],
        },
        "with": {"barcodes": True},
    }
    assert sent["headers"]["Client-Id"] == CLIENT_ID


def test_a_removed_operation_is_called_with_a_warning(tmp_path: Path, mock: ServedMock) -> None:
    """An operation Ozon's reference no longer lists still goes out, with a warning naming the
    date and the successor by its command-line name."""
    proc = run("call", "chat.list_v2", "limit:=5", env=api_env(tmp_path, mock))
    out, err = text(proc)
    assert proc.returncode == 0, err
    assert json.loads(out)["chats"] is not None
    assert (
        "ozon: warning: POST /v2/chat/list is deprecated by Ozon; use chat.list_v3 "
        "(POST /v3/chat/list) instead; Ozon's reference no longer lists it (since 2026-08-14)"
    ) in err
    assert len(mock.requests("/v2/chat/list")) == 1


@pytest.mark.parametrize("form", ["inline", "file", "stdin", "dash", "method-path"])
def test_call_body_forms(tmp_path: Path, mock: ServedMock, form: str) -> None:
    env = api_env(tmp_path, mock)
    body = {"limit": 2, "cursor": ""}
    raw = json.dumps(body).encode()
    (tmp_path / "body.json").write_bytes(raw)
    op = "warehouse.list_v2"
    args: list[str]
    stdin: bytes | None = None
    if form == "inline":
        args = ["--json", raw.decode()]
    elif form == "file":
        args = ["--json", f"@{tmp_path / 'body.json'}"]
    elif form == "stdin":
        args, stdin = [], raw
    elif form == "dash":
        args, stdin = ["--json", "-"], raw
    else:
        args, op = ["limit:=2", "cursor="], "POST /v2/warehouse/list"
    # a piped stdin is the process's own: that form runs the console script
    runner = run if form == "stdin" else run_here
    proc = runner("call", op, *args, env=env, input=stdin)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["warehouses"]) == 2
    [sent] = mock.requests("/v2/warehouse/list")
    assert sent["body"] == body


def test_pairs_apply_on_top_of_the_json_body(tmp_path: Path, mock: ServedMock) -> None:
    env = api_env(tmp_path, mock)
    base = {"limit": 5, "filter": {"since": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"}}
    proc = run_here("call", "posting.fbs_list_v4", "--json", json.dumps(base), "limit:=2", env=env)
    assert proc.returncode == 0, proc.stderr
    assert mock.requests(FBS)[0]["body"]["limit"] == 2


def test_dry_run_validates_and_sends_nothing(tmp_path: Path, mock: ServedMock) -> None:
    env = api_env(tmp_path, mock)
    proc = run_here("call", "warehouse.list_v2", "limit=7", "--dry-run", env=env)
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == {"limit": 7}
    assert "nothing was sent" in proc.stderr.decode()
    assert mock.requests() == []


# ---------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["limit:=1000", *PERIOD], "limit"),
        (["limit:=10", "filter.since=yesterday", "filter.to=2026-01-31T23:59:59Z"], "filter.since"),
        (["limit:=10", *PERIOD, "filter.colour=red"], "filter.colour"),
    ],
)
def test_invalid_body_names_the_field_exits_2_and_sends_nothing(
    tmp_path: Path, mock: ServedMock, args: list[str], field: str
) -> None:
    proc = run_here("call", "posting.fbs_list_v4", *args, env=api_env(tmp_path, mock))
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert f"field: {field}\n" in err
    assert "nothing was sent" in err
    assert proc.stdout == b""
    assert mock.requests() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--json", "{not json"], "not valid JSON"),
        (["limit:=1", "limit:=2"], "given twice"),
        (["--json", "@/nonexistent/body.json"], "cannot read"),
    ],
)
def test_malformed_input_is_a_usage_error(
    tmp_path: Path, mock: ServedMock, args: list[str], message: str
) -> None:
    proc = run_here("call", "warehouse.list_v2", *args, env=api_env(tmp_path, mock))
    assert proc.returncode == 2
    assert message in proc.stderr.decode()
    assert mock.requests() == []


def test_unknown_operation_suggests_names(tmp_path: Path, mock: ServedMock) -> None:
    proc = run_here("call", "posting.fbs_list_v9", env=api_env(tmp_path, mock))
    assert proc.returncode == 2
    assert "posting.fbs_list_v4" in proc.stderr.decode()
    assert mock.requests() == []


# ---------------------------------------------------------------------- API errors
def test_api_error_exits_1_with_message_code_and_trace_id(tmp_path: Path, mock: ServedMock) -> None:
    mock.admin(
        "faults",
        {
            "path": "/v2/warehouse/list",
            "status": 400,
            "body": {"code": 3, "message": "warehouse filter is wrong", "details": []},
            "headers": {"x-o3-trace-id": "trace-77aa"},
        },
    )
    proc = run("call", "warehouse.list_v2", "limit:=1", "--verbose", env=api_env(tmp_path, mock))
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "Ozon answered 400 to POST /v2/warehouse/list" in err
    assert "message: warehouse filter is wrong" in err
    assert "code: 3" in err
    assert "trace id: trace-77aa" in err
    assert proc.stdout == b""


def test_missing_credentials_is_a_usage_error(tmp_path: Path, mock: ServedMock) -> None:
    env = base_env(tmp_path)
    proc = run_here("call", "warehouse.list_v2", "limit:=1", "--base-url", mock.url, env=env)
    assert proc.returncode == 2
    assert "no credentials" in proc.stderr.decode()
    assert mock.requests() == []


def test_an_access_token_is_used_or_refused_clearly(tmp_path: Path, mock: ServedMock) -> None:
    """An OAuth token goes to OzonClient(access_token=...), never falling back to another
    credential (the API key of the environment is not sent)."""
    env = api_env(tmp_path, mock)  # a key in the environment must not be used instead
    proc = run("call", "warehouse.list_v2", "limit:=1", "--access-token", SECRET, env=env)
    assert proc.returncode == 0, proc.stderr
    [sent] = mock.requests("/v2/warehouse/list")
    assert "Api-Key" not in sent["headers"]


# ---------------------------------------------------------------------- the key
def test_the_key_is_never_printed(tmp_path: Path, mock: ServedMock) -> None:
    env = base_env(tmp_path)
    flags = ["--client-id", CLIENT_ID, "--api-key", SECRET, "--base-url", mock.url, "--verbose"]
    outputs = []
    ok = run("call", "warehouse.list_v2", "limit:=1", *flags, env=env)
    assert ok.returncode == 0
    # verbose: method, path, status, attempts, trace id
    assert b"POST /v2/warehouse/list: answered 200 after 1 attempt," in ok.stderr
    assert b"trace -" in ok.stderr
    outputs.append(ok)
    mock.admin("faults", {"path": "/v2/warehouse/list", "status": 500, "times": 2})
    failed = run("call", "warehouse.list_v2", "limit:=1", "--max-retries", "1", *flags, env=env)
    assert failed.returncode == 1
    assert b"Ozon answered 500 to POST /v2/warehouse/list" in failed.stderr
    outputs.append(failed)
    invalid = run("call", "warehouse.list_v2", "limit=many", *flags, env=env)
    assert invalid.returncode == 2
    outputs.append(invalid)
    outputs.append(run("call", "warehouse.list_v2", SECRET, *flags, env=env))  # key as a pair
    # the key went to the server (masked in its log), never to our output
    assert any(r["headers"].get("Api-Key") == "***" for r in mock.requests())
    for proc in outputs:
        assert SECRET.encode() not in proc.stdout + proc.stderr


# ---------------------------------------------------------------------- --all
def server_postings(mock: ServedMock) -> list[str]:
    """Every posting number, through the SDK's own paginator."""

    async def walk() -> list[str]:
        async with OzonClient(CLIENT_ID, SECRET, base_url=mock.url) as client:
            return [
                p.posting_number or ""
                async for p in client.posting.fbs_list_v4.iter(
                    limit=100,
                    filter={"since": "2026-01-01T00:00:00Z", "to": "2026-01-31T23:59:59Z"},
                )
            ]

    return asyncio.run(walk())


def test_all_exports_every_posting_as_jsonl_and_csv(tmp_path: Path, mock: ServedMock) -> None:
    expected = server_postings(mock)
    assert len(expected) > 100  # several pages
    mock.admin("reset")
    env = api_env(tmp_path, mock)
    out = tmp_path / "postings.jsonl"
    proc = run("call", "posting.fbs_list_v4", "--all", "limit:=100", *PERIOD, "--out", str(out),
               "with.analytics_data:=true", env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["posting_number"] for r in rows] == expected
    assert len(mock.requests(FBS)) == -(-len(expected) // 100)
    assert f"done: {len(expected)} items" in proc.stderr.decode()

    proc = run("call", "posting.fbs_list_v4", "--all", "limit:=100", *PERIOD, "-f", "csv",
               "with.analytics_data:=true", env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    table = list(csv.DictReader(io.StringIO(proc.stdout.decode(), newline="")))
    assert [r["posting_number"] for r in table] == expected
    first = rows[0]
    assert table[0]["analytics_data.city"] == first["analytics_data"]["city"]
    assert json.loads(table[0]["available_actions"]) == first["available_actions"]
    assert table[0]["_extra"] == ""

    # stdout JSON Lines when piped, one compact document per line
    proc = run("call", "posting.fbs_list_v4", "--all", "limit:=100", *PERIOD, env=env)
    assert proc.returncode == 0
    assert len(proc.stdout.splitlines()) == len(expected)


def test_all_refuses_an_operation_without_pages(tmp_path: Path, mock: ServedMock) -> None:
    proc = run_here("call", "products.stocks_v2", "--all", env=api_env(tmp_path, mock))
    assert proc.returncode == 2
    assert "not paginated" in proc.stderr.decode()


def run_in_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the console script with a pseudo-terminal as stdin, stdout and stderr."""
    import fcntl
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    proc = subprocess.Popen(
        [str(OZON), *args], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    code = proc.wait(timeout=30)
    os.close(master)
    output = b"".join(chunks).decode("utf-8", "replace")
    assert SECRET not in output
    return code, output


def test_progress_on_a_terminal_and_not_when_piped(tmp_path: Path, mock: ServedMock) -> None:
    env = api_env(tmp_path, mock)
    env["TERM"] = "xterm-256color"
    total = len(server_postings(mock))
    pages = -(-total // 50)
    args = ["call", "posting.fbs_list_v4", "--all", "limit:=50", *PERIOD]
    code, screen = run_in_pty([*args, "--out", str(tmp_path / "a.jsonl")], env)
    assert code == 0, screen
    plain = ANSI.sub("", screen)
    assert "posting.fbs_list_v4" in plain
    pattern = rf"{total} items\s+{pages} pages\s+[\d,.]+ items/s\s+\d+:\d\d:\d\d"
    assert re.search(pattern, plain), plain
    assert "\x1b[" in screen  # drawn with terminal control sequences

    piped = run(*args, "--out", str(tmp_path / "b.jsonl"), env=env)
    assert piped.returncode == 0
    err = piped.stderr.decode()
    assert "items/s" not in err and "\x1b" not in err
    [line] = err.splitlines()
    assert line.startswith(
        f"ozon: done: {total} items from {pages} pages written to {tmp_path / 'b.jsonl'}"
    )


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_ctrl_c_mid_export_keeps_a_valid_file(tmp_path: Path, mock: ServedMock, fmt: str) -> None:
    env = api_env(tmp_path, mock)
    out = tmp_path / f"partial.{fmt}"
    # 10 postings per page at 4 requests per second: 25 pages take about 6 s
    args = ["call", "posting.fbs_list_v4", "--all", "limit:=10", *PERIOD, "--rate-limit", "4"]
    proc = subprocess.Popen(
        [str(OZON), *args, "--format", fmt, "--out", str(out), "--csv-sample", "5"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while len(mock.requests(FBS)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=20)
    assert SECRET.encode() not in stdout + stderr
    assert proc.returncode == 130, stderr
    pages = len(mock.requests(FBS))
    assert 3 <= pages < 25
    err = stderr.decode()
    assert "interrupted" in err and "Traceback" not in err
    data = out.read_text()
    assert data.endswith("\n")
    if fmt == "jsonl":
        rows = [json.loads(line) for line in data.splitlines()]
    else:
        table = list(csv.reader(io.StringIO(data, newline="")))
        assert len({len(r) for r in table}) == 1
        rows = table[1:]
    assert 0 < len(rows) < 250
    assert len(rows) % 10 == 0  # whole pages only
    assert f"interrupted: {len(rows)} items" in err


def test_an_error_mid_export_keeps_the_pages_received(tmp_path: Path, mock: ServedMock) -> None:
    out = tmp_path / "part.jsonl"
    args = ["call", "posting.fbs_list_v4", "--all", "limit:=10", *PERIOD, "--rate-limit", "2"]
    proc = subprocess.Popen(
        [str(OZON), *args, "--out", str(out)], env=api_env(tmp_path, mock),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not mock.requests(FBS) and time.monotonic() < deadline:
        time.sleep(0.02)
    # the next page (0.5 s later at 2 requests per second) is refused
    body = {"code": 3, "message": "cursor expired", "details": []}
    mock.admin("faults", {"path": FBS, "status": 400, "body": body})
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 1
    err = stderr.decode()
    assert "message: cursor expired" in err
    # the fault lands after the first page at the earliest (a loaded machine may get a second one in)
    m = re.search(r"stopped by an error: (\d+) items? from (\d+) pages?", err)
    assert m, err
    items, pages = int(m[1]), int(m[2])
    assert pages >= 1 and items == 10 * pages
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == items and len({r["posting_number"] for r in rows}) == items
    assert len(mock.requests(FBS)) == pages + 1


def test_a_closed_pipe_stops_the_export_quietly(tmp_path: Path, mock: ServedMock) -> None:
    """`ozon call ... --all | head -1`: no traceback, exit 0, no more pages asked for."""
    args = ["call", "posting.fbs_list_v4", "--all", "limit:=10", *PERIOD, "--rate-limit", "10"]
    proc = subprocess.Popen(
        [str(OZON), *args], env=api_env(tmp_path, mock), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    first = json.loads(proc.stdout.readline())
    assert first["posting_number"]
    proc.stdout.close()
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=20) == 0
    assert stderr == b""
    assert len(mock.requests(FBS)) < 25


# ---------------------------------------------------------------------- binary answers
def test_binary_answer_goes_to_a_file_and_never_to_a_terminal(
    tmp_path: Path, mock: ServedMock
) -> None:
    env = api_env(tmp_path, mock)
    pdf = tmp_path / "labels.pdf"
    assert mock.server is not None
    number = next(
        p.posting_number
        for p in mock.server.state.postings.values()
        if p.status == "awaiting_deliver"
    )
    args = ["call", "posting.fbs_package_label_v2", f'posting_number:=["{number}"]']
    proc = run(*args, "--out", str(pdf), env=env)
    assert proc.returncode == 0, proc.stderr
    assert pdf.read_bytes().startswith(b"%PDF")
    assert len(mock.requests("/v2/posting/fbs/package-label")) == 1

    code, screen = run_in_pty(args, env)
    assert code == 2
    assert "--out FILE" in screen and "%PDF" not in screen
    assert len(mock.requests("/v2/posting/fbs/package-label")) == 1  # not sent again

    piped = run(*args, env=env)  # into a pipe it is written as it is, like curl
    assert piped.returncode == 0 and piped.stdout.startswith(b"%PDF")


def test_pretty_coloured_json_on_a_terminal(tmp_path: Path, mock: ServedMock) -> None:
    env = api_env(tmp_path, mock)
    env["TERM"] = "xterm-256color"
    code, screen = run_in_pty(["call", "warehouse.list_v2", "limit:=1"], env)
    assert code == 0
    assert "\x1b[" in screen  # colour
    plain = ANSI.sub("", screen).replace("\r\n", "\n")
    assert '\n  "warehouses": [\n' in plain  # indented
    assert json.loads(plain[plain.index("{") :])["has_next"] is True


# ---------------------------------------------------------------------- profiles
def write_config(path: Path, text_: str, mode: int = 0o600) -> Path:
    path.write_text(text_)
    path.chmod(mode)
    return path


def test_profile_from_the_config_file(tmp_path: Path, mock: ServedMock) -> None:
    config = write_config(
        tmp_path / "config.toml",
        f"""
default_profile = "main"

[profiles.main]
client_id = 111
api_key = "{SECRET}"
base_url = "{mock.url}"
allow_custom_base_url = true

[profiles.shop2]
client_id = "222"
api_key = "{SECRET}"
base_url = "{mock.url}"
allow_custom_base_url = true
""",
    )
    env = base_env(tmp_path)
    env["OZON_ASYNC_CONFIG"] = str(config)
    assert (
        run("call", "warehouse.list_v2", "limit:=1", "--profile", "shop2", env=env).returncode == 0
    )
    assert run("call", "warehouse.list_v2", "limit:=1", env=env).returncode == 0  # the default
    env["OZON_PROFILE"] = "shop2"
    assert (
        run("call", "warehouse.list_v2", "limit:=1", "--client-id", "333", env=env).returncode == 0
    )
    assert [r["headers"]["Client-Id"] for r in mock.requests()] == ["222", "111", "333"]

    listing = run("profiles", env=env)
    out = listing.stdout.decode()
    assert "main\tclient_id=111\tapi key" in out and "(default)" in out
    assert "shop2\tclient_id=222" in out

    proc = run("call", "warehouse.list_v2", "--profile", "nope", env=env)
    assert proc.returncode == 2
    assert "no profile 'nope'" in proc.stderr.decode()


def test_a_config_readable_by_others_is_refused(tmp_path: Path, mock: ServedMock) -> None:
    config = write_config(
        tmp_path / "config.toml",
        f'[profiles.main]\nclient_id = "1"\napi_key = "{SECRET}"\nbase_url = "{mock.url}"\n'
        "allow_custom_base_url = true\n",
        mode=0o644,
    )
    env = base_env(tmp_path)
    env["OZON_ASYNC_CONFIG"] = str(config)
    proc = run("call", "warehouse.list_v2", "limit:=1", "--profile", "main", env=env)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert str(config) in err and f"chmod 600 {config}" in err
    assert mock.requests() == []
    assert stat.S_IMODE(config.stat().st_mode) == 0o644  # never changed behind the user's back


# ---------------------------------------------------------------------- completion, entry points
def test_shell_completion_of_operation_names(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    env.update(
        _OZON_COMPLETE="bash_complete", COMP_WORDS="ozon call posting.fbs_li", COMP_CWORD="2"
    )
    proc = run(env=env)
    assert proc.returncode == 0
    words = [line.split(",", 1)[1] for line in proc.stdout.decode().splitlines()]
    assert set(words) == {
        f"{o.group}.{o.name}"
        for o in OPERATIONS.values()
        if f"{o.group}.{o.name}".startswith("posting.fbs_li")
    }
    assert "posting.fbs_list_v4" in words

    script = run("completion", "bash", env=base_env(tmp_path)).stdout.decode()
    assert "_OZON_COMPLETE" in script


def test_python_dash_m_and_a_lean_import(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "ozon_async", "ops", "warehouse.list_v2"],
        env=env,
        capture_output=True,
        timeout=30,
    )
    assert proc.returncode == 0
    assert b"POST /v2/warehouse/list" in proc.stdout
    code = "import sys, ozon_async, ozon_async.cli, ozon_async.profiles; " + (
        "bad = [m for m in ('click', 'rich', 'tomli') if m in sys.modules]; assert not bad, bad"
    )
    assert subprocess.run([sys.executable, "-c", code], env=env, timeout=30).returncode == 0


# ---------------------------------------------------------------------- sandbox
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sandbox_serves_the_mock(tmp_path: Path) -> None:
    port = _free_port()
    env = base_env(tmp_path)
    proc = subprocess.Popen(
        [str(OZON), "sandbox", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert f"http://127.0.0.1:{port}" in line
        # the second line names the credentials it accepts; any other key is refused as Ozon does
        accepts = proc.stdout.readline().decode()
        client_id, api_key = re.findall(r"Client-Id (\S+), Api-Key (\S+)", accepts)[0]
        env.update(OZON_BASE_URL=f"http://127.0.0.1:{port}")
        wrong = run(
            "call", "warehouse.list_v2", "limit:=1", env={**env, "OZON_CLIENT_ID": client_id,
            "OZON_API_KEY": SECRET},
        )  # fmt: skip
        assert wrong.returncode == 1 and b"Traceback" not in wrong.stderr
        assert b"Invalid Api-Key, please check the key and try again" in wrong.stderr
        env.update(OZON_CLIENT_ID=client_id, OZON_API_KEY=api_key)
        call = run("call", "warehouse.list_v2", "limit:=1", env=env)
        assert call.returncode == 0
        assert len(json.loads(call.stdout)["warehouses"]) == 1
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)


def test_sandbox_flags_reach_the_sandbox(tmp_path: Path) -> None:
    """--seed/--speed/--port reach `python -m ozon_async.testing` as given."""
    port = _free_port()
    args = [str(OZON), "sandbox", "--seed", "1", "--speed", "2", "--port", str(port)]
    proc = subprocess.Popen(
        args, env=base_env(tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert f"127.0.0.1:{port}" in line
    assert "seed 1, speed 2x" in line


def test_the_readme_command_line_example_runs_as_written(tmp_path: Path) -> None:
    """The README's sandbox session, run by bash (on a free port instead of 8080)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## Command line") :]
    start = section.index("```sh\nozon sandbox")
    script = section[start + len("```sh\n") : section.index("```", start + 5)]
    port = str(_free_port())
    env = base_env(tmp_path)
    env["PATH"] = f"{OZON.parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(
        ["bash", "-e", "-c", script.replace("8080", port)],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    with (tmp_path / "postings.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) > 100 and len({r["posting_number"] for r in rows}) == len(rows)
    assert (tmp_path / "labels.pdf").read_bytes().startswith(b"%PDF")
    assert b"posting.fbs_list_v4" in proc.stdout
    # the workflows: one stock row not applied (archived), the report downloaded
    with (tmp_path / "not-applied.csv").open(newline="") as f:
        not_applied = list(csv.DictReader(f))
    assert [(r["line"], r["offer_id"], r["code"]) for r in not_applied] == [
        ("3", "ART-01002", "PRODUCT_IS_ARCHIVED")
    ]
    assert b"3 items in 1 request: 2 applied, 1 failed" in proc.stderr
    assert b"1 item in 1 request: 1 applied, 0 failed" in proc.stderr
    report = (tmp_path / "report.csv").read_text("utf-8-sig").splitlines()
    assert report[0].startswith("Номер заказа;Номер отправления") and len(report) > 100


# ---------------------------------------------------------------------- path parameters, files
def test_a_path_parameter_goes_into_the_path(tmp_path: Path, mock: ServedMock) -> None:
    env = api_env(tmp_path, mock)
    out = tmp_path / "label.pdf"
    dry = run_here("call", "cargoes_label.file_v1", "file_guid=guid 42/x", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "GET /v1/cargoes-label/file/guid%2042%2Fx would be sent" in dry.stderr.decode()
    assert mock.requests() == []
    proc = run_here(
        "call", "cargoes_label.file_v1", "file_guid=guid-42", "--out", str(out), env=env
    )
    assert proc.returncode == 0, proc.stderr
    (sent,) = mock.requests("/v1/cargoes-label/file/{file_guid}")
    assert (sent["method"], sent["raw_path"]) == ("GET", "/v1/cargoes-label/file/guid-42")
    assert out.stat().st_size > 0
    missing = run_here("call", "cargoes_label.file_v1", "--out", str(out), env=env)
    assert missing.returncode == 2 and "file_guid" in missing.stderr.decode()
    extra = run_here("call", "cargoes_label.file_v1", "file_guid=g", "limit:=5", env=env)
    assert extra.returncode == 2 and "limit" in extra.stderr.decode()
    assert len(mock.requests()) == 1  # neither mistake was sent


CERTIFICATE = [
    "name=Declaration 7",
    "number=RU-7",
    "type_code=declaration",
    "accordance_type_code=gost",
    "issue_date=2026-01-10T00:00:00Z",
]


def test_files_are_uploaded_as_multipart(tmp_path: Path, mock: ServedMock) -> None:
    env = api_env(tmp_path, mock)
    scan = tmp_path / "declaration.pdf"
    scan.write_bytes(b"%PDF-1.4 the scan\x00\xff")
    args = ["call", "product.certificate_create_v1", f"files[0]@{scan}", *CERTIFICATE]
    dry = run_here(*args, "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    said = dry.stderr.decode()
    assert "multipart/form-data" in said and "parts: files, name, number" in said
    assert mock.requests() == []
    proc = run_here(*args, env=env)
    assert proc.returncode == 0, proc.stderr
    (got,) = mock.requests("/v1/product/certificate/create")
    assert got["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert got["body"]["name"] == "Declaration 7"
    files = got["body"]["files"]
    assert [base64.b64decode(f) for f in (files if isinstance(files, list) else [files])] == [
        scan.read_bytes()
    ]
    assert json.loads(proc.stdout)  # the answer is printed


def test_a_file_for_a_json_operation_is_refused(tmp_path: Path, mock: ServedMock) -> None:
    env = api_env(tmp_path, mock)
    scan = tmp_path / "a.txt"
    scan.write_text("x")
    proc = run_here("call", "warehouse.list_v2", "limit:=5", f"cursor@{scan}", env=env)
    assert proc.returncode == 2
    said = proc.stderr.decode()
    assert "cursor" in said and "key=@file" in said
    assert mock.requests() == []


def test_a_command_run_inside_a_program_leaves_the_logger_as_it_found_it(tmp_path: Path) -> None:
    # the command line sets the ozon_async logger to WARNING (DEBUG with --verbose) with a
    # handler of its own; run inside another program (a notebook, a test), it gives both back
    import logging

    from click.testing import CliRunner

    from ozon_async.cli.app import cli

    logger = logging.getLogger("ozon_async")
    level, handlers = logger.level, list(logger.handlers)
    logger.setLevel(logging.DEBUG)
    try:
        env = {
            "OZON_ASYNC_CONFIG": str(tmp_path / "no-config.toml"),
            "OZON_CLIENT_ID": "1",
            "OZON_API_KEY": SECRET,
        }
        call = ["call", "warehouse.list_v2", "limit:=5", "--dry-run"]
        for args in (call, [*call, "--verbose"]):
            result = CliRunner().invoke(cli, args, prog_name="ozon", env=env)
            assert result.exit_code == 0, result.output
            assert logger.level == logging.DEBUG
            assert logger.handlers == handlers
    finally:
        logger.setLevel(level)
