"""The findings of the security review (issue #25), each reproduced as the reviewer did it and
now refused, with the checks the review found passing kept here too.

1. a config file others can write sends the environment's key to another host;
2. MCP over HTTP on a non-loopback host serves foreign Origin/Host headers;
3. hostile input (deep JSON, non-UTF-8 arguments) ends in a traceback;
4. terminal escapes in Ozon's text reach the terminal;
5. the sandbox admin can be driven by a web page;
6. signed URLs (their query strings) in download errors;
7. downloads follow redirects anywhere and decompress without a cap.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

OZON = Path(sys.executable).with_name("ozon")
KEY = "sk-SECURITY-REVIEW-0f1e2d3c4b5a"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OZON_")}
    env["OZON_ASYNC_CONFIG"] = str(tmp_path / "absent.toml")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def _ozon(
    *args: str, env: dict[str, str], input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(
        [str(OZON), *args],
        env=env,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert KEY.encode() not in proc.stdout + proc.stderr
    return proc


class Listener:
    """A TCP listener on a free loopback port that records what arrives (the attacker's)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.received += conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    lst = Listener()
    try:
        yield lst
    finally:
        lst.close()


# ------------------------------------------------------------------ 1. config and profiles
def _evil_config(tmp_path: Path, port: int, *, opt_in: bool) -> Path:
    folder = tmp_path / "ozon-async"
    folder.mkdir()
    config = folder / "config.toml"
    config.write_text(
        'default_profile = "evil"\n[profiles.evil]\n'
        f'base_url = "http://127.0.0.1:{port}"\n'
        + ("allow_custom_base_url = true\n" if opt_in else "")
    )
    return config


@pytest.mark.parametrize("how", ["world-writable file and directory", "no opt-in"])
def test_finding_1_a_config_file_cannot_send_the_environments_key_elsewhere(
    tmp_path: Path, listener: Listener, how: str
) -> None:
    config = _evil_config(tmp_path, listener.port, opt_in=how != "no opt-in")
    if how != "no opt-in":
        config.parent.chmod(0o777)  # chmod 777 ~/.config/ozon-async; chmod 666 config.toml
        config.chmod(0o666)
    else:
        config.chmod(0o600)
    env = _env(tmp_path, OZON_ASYNC_CONFIG=str(config), OZON_CLIENT_ID="555", OZON_API_KEY=KEY)
    proc = _ozon("call", "warehouse.list_v2", "limit:=1", env=env)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert len(err.strip().splitlines()) == 1  # one line, no traceback
    if how == "no opt-in":
        assert "allow_custom_base_url = true" in err
    else:
        assert f"chmod 700 {config.parent}" in err or f"chmod 600 {config}" in err
    assert listener.received == b""


def test_finding_1_the_file_alone_is_fixed_after_the_directory(
    tmp_path: Path, listener: Listener
) -> None:
    config = _evil_config(tmp_path, listener.port, opt_in=True)
    config.chmod(0o666)
    env = _env(tmp_path, OZON_ASYNC_CONFIG=str(config), OZON_CLIENT_ID="555", OZON_API_KEY=KEY)
    proc = _ozon("call", "warehouse.list_v2", "limit:=1", env=env)
    assert proc.returncode == 2 and f"chmod 600 {config}" in proc.stderr.decode()
    assert listener.received == b""


def test_finding_1_an_opted_in_base_url_is_named_with_verbose(
    tmp_path: Path, listener: Listener
) -> None:
    config = _evil_config(tmp_path, listener.port, opt_in=True)
    config.chmod(0o600)
    env = _env(tmp_path, OZON_ASYNC_CONFIG=str(config), OZON_CLIENT_ID="555", OZON_API_KEY=KEY)
    proc = _ozon("call", "warehouse.list_v2", "limit:=1", "-v", "--max-retries", "0", env=env)
    err = proc.stderr.decode()
    assert f"base URL http://127.0.0.1:{listener.port} (not Ozon's API; base_url from evil)" in err


def test_profiles_add_and_remove_write_a_private_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = _env(tmp_path, HOME=str(home))
    env.pop("OZON_ASYNC_CONFIG")
    env.pop("XDG_CONFIG_HOME", None)
    add = _ozon(
        "profiles", "add", "main", "--client-id", "123456", "--default", env=env, input=KEY.encode()
    )
    assert add.returncode == 0, add.stderr
    config = home / ".config" / "ozon-async" / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    assert f'api_key = "{KEY}"' in config.read_text()
    sb = _ozon(
        "profiles",
        "add",
        "sb",
        "--client-id",
        "1",
        "--base-url",
        "http://127.0.0.1:8080",
        env=env,
        input=b"test\n",
    )
    assert sb.returncode == 0 and "not Ozon's API" in sb.stderr.decode()
    listing = _ozon("profiles", env=env).stdout.decode()
    assert "main\tclient_id=123456\tapi key" in listing and "(default)" in listing
    assert "sb\tclient_id=1\tapi key\tbase_url=http://127.0.0.1:8080" in listing
    assert _ozon("profiles", "add", "main", env=env, input=b"x\n").returncode == 2
    assert _ozon("profiles", "add", "x", env=env).returncode == 2  # no key given
    removed = _ozon("profiles", "remove", "main", env=env)
    assert removed.returncode == 0 and "was the default" in removed.stderr.decode()
    assert KEY not in config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert _ozon("profiles", "remove", "main", env=env).returncode == 2


# ------------------------------------------------------------------ 3. hostile input
DEEP = b'{"a":' * 1000 + b"1" + b"}" * 1000
DEEP_201 = b"[" * 201 + b"]" * 201
FINE_200 = b'{"limit": 1, "x": ' + b"[" * 199 + b"]" * 199 + b"}"


def _one_line_refusal(proc: subprocess.CompletedProcess[bytes], *words: str) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


@pytest.mark.parametrize(
    "case",
    [
        "stdin",
        "--json -",
        "--json TEXT",
        "--json @FILE",
        "key:=JSON",
        "key:=@FILE",
        "--extra-body TEXT",
        "--extra-body @FILE",
        "key path",
        "201 levels",
    ],
)
def test_finding_3_deep_json_is_refused_in_one_line(
    tmp_path: Path, listener: Listener, case: str
) -> None:
    deep_file = tmp_path / "deep.json"
    deep_file.write_bytes(DEEP)
    env = _env(
        tmp_path,
        OZON_CLIENT_ID="1",
        OZON_API_KEY=KEY,
        OZON_BASE_URL=f"http://127.0.0.1:{listener.port}",
    )
    base = ["call", "warehouse.list_v2"]
    args, stdin = {
        "stdin": ([], DEEP),
        "--json -": (["--json", "-"], DEEP),
        "--json TEXT": (["--json", DEEP.decode()], None),
        "--json @FILE": (["--json", f"@{deep_file}"], None),
        "key:=JSON": (["limit:=1", "x:=" + DEEP.decode()], None),
        "key:=@FILE": (["limit:=1", f"x:=@{deep_file}"], None),
        "--extra-body TEXT": (["limit:=1", "--extra-body", DEEP.decode()], None),
        "--extra-body @FILE": (["limit:=1", "--extra-body", f"@{deep_file}"], None),
        "key path": (["limit:=1", ".".join(["a"] * 1000) + "=1"], None),
        "201 levels": (["limit:=1", "x:=" + DEEP_201.decode()], None),
    }[case]
    proc = _ozon(*base, *args, env=env, input=stdin)
    _one_line_refusal(proc, "nested more than 200 levels")
    assert listener.received == b""


def test_finding_3_two_hundred_levels_are_accepted(tmp_path: Path) -> None:
    env = _env(tmp_path, OZON_CLIENT_ID="1", OZON_API_KEY=KEY)
    proc = _ozon("call", "warehouse.list_v2", "--dry-run", env=env, input=FINE_200)
    assert proc.returncode == 2  # refused by the request model (x is unknown), not by depth
    assert b"unknown field `x`" in proc.stderr and b"nested" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        [b"limit:=1", b"offer=\xff"],
        [b"limit:=1", b"off\xfer=1"],
        [b"limit:=1", b'x:="\xff"'],
        [b"--json", b'{"limit": 1, "x": "\xff"}'],
        [b"limit:=1", b"--extra-body", b'{"x": "\xfe"}'],
        [b"limit:=1", b"--client-id", b"\xff"],
    ],
)
def test_finding_3_bytes_that_are_not_utf8_are_refused_in_one_line(
    tmp_path: Path, args: list[bytes]
) -> None:
    env = _env(tmp_path, OZON_CLIENT_ID="1", OZON_API_KEY=KEY)
    proc = subprocess.run(
        [bytes(OZON), b"call", b"warehouse.list_v2", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    _one_line_refusal(proc, "not valid UTF-8 text")


def test_finding_3_non_utf8_bytes_in_a_file_and_on_stdin(tmp_path: Path) -> None:
    env = _env(tmp_path, OZON_CLIENT_ID="1", OZON_API_KEY=KEY)
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"limit": 1, "x": "\xff"}')
    for args, stdin in (([f"--json=@{bad}"], None), ([f"x:=@{bad}"], None), ([], bad.read_bytes())):
        proc = _ozon("call", "warehouse.list_v2", *args, env=env, input=stdin)
        _one_line_refusal(proc, "not valid UTF-8")


@pytest.mark.parametrize("tool", ["call_read", "call_write", "fetch_all"])
async def test_finding_3_mcp_tool_arguments_are_capped(tool: str) -> None:
    pytest.importorskip("mcp")
    import json

    from ozon_async.mcp import OzonMCP

    deep: object = 1
    for _ in range(3000):
        deep = {"a": deep}
    op = "products.stocks_v2" if tool == "call_write" else "warehouse.list_v2"
    async with OzonMCP(sandbox=True) as app:
        for value, words in ((deep, "nested more than 200 levels"), ("\udcff", "not valid UTF-8")):
            text, is_error = await app.call(tool, {"operation": op, "arguments": {"x": value}})
            error = json.loads(text)["error"]
            assert is_error and error["type"] == "invalid_arguments" and words in error["message"]
            assert error["sent"] is False
        assert app.sandbox_server.requests == []


# ------------------------------------------------------------------ 4. terminal escapes
HOSTILE = "\x1b]0;pwned\x07\x1b[2Jgone\rX\x9b1m"
ESCAPED = "\\x1b]0;pwned\\x07\\x1b[2Jgone\\rX\\x9b1m"


class ServedSandbox:
    """A sandbox on its own event loop in a background thread, for the console script."""

    def __init__(self) -> None:
        import asyncio

        from ozon_async.testing import Sandbox

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        # the tests use their own key: any is accepted
        self.sandbox = asyncio.run_coroutine_threadsafe(
            Sandbox(any_key=True).start(), self.loop
        ).result(30)

    def fault(self, path: str, **kwargs: object) -> None:
        self.loop.call_soon_threadsafe(lambda: self.sandbox.add_fault(path, **kwargs))

    def close(self) -> None:
        import asyncio

        asyncio.run_coroutine_threadsafe(self.sandbox.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def served() -> Iterator[ServedSandbox]:
    s = ServedSandbox()
    try:
        yield s
    finally:
        s.close()


def _in_pty(args: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    """The console script with a pseudo-terminal as stdin, stdout and stderr."""
    import pty
    import select
    import time

    master, slave = pty.openpty()
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
    return code, b"".join(chunks)


def _sandbox_env(tmp_path: Path, served: ServedSandbox) -> dict[str, str]:
    env = _env(tmp_path, OZON_CLIENT_ID="1", OZON_API_KEY=KEY, OZON_BASE_URL=served.sandbox.url)
    env["TERM"] = "dumb"
    return env


def test_finding_4_ozons_error_message_cannot_drive_the_terminal(
    tmp_path: Path, served: ServedSandbox
) -> None:
    body = {"code": 3, "message": HOSTILE, "details": [{"typeUrl": HOSTILE, "value": "v"}]}
    served.fault("/v2/warehouse/list", status=400, body=body, times=2)
    env = _sandbox_env(tmp_path, served)
    proc = _ozon("call", "warehouse.list_v2", "limit:=1", "-v", env=env)
    err = proc.stderr.decode()
    assert proc.returncode == 1
    assert f"message: {ESCAPED}" in err
    assert "\x1b" not in err and "\x07" not in err and "\r" not in err and "\x9b" not in err
    code, screen = _in_pty(["call", "warehouse.list_v2", "limit:=1"], env)
    assert code == 1 and ESCAPED.encode() in screen
    assert b"\x1b]0" not in screen and b"\x1b[2J" not in screen and b"\x07" not in screen


def _hostile_page() -> dict[str, object]:
    return {"warehouses": [{"warehouse_id": 1, "name": HOSTILE}], "has_next": False}


def test_finding_4_csv_on_a_terminal_is_escaped_and_a_file_gets_it_as_is(
    tmp_path: Path, served: ServedSandbox
) -> None:
    env = _sandbox_env(tmp_path, served)
    args = ["call", "warehouse.list_v2", "--all", "--format", "csv", "limit:=10"]
    served.fault("/v2/warehouse/list", status=200, body=_hostile_page(), times=2)
    code, screen = _in_pty([*args, "--no-progress"], env)
    assert code == 0, screen
    assert ESCAPED.encode() in screen
    assert b"\x1b]0" not in screen and b"\x07" not in screen and b"\x1b[2J" not in screen
    assert "\x9b".encode() not in screen
    # to a file (or a pipe) the data stays exactly what Ozon sent
    out = tmp_path / "p.csv"
    assert _ozon(*args, "--out", str(out), env=env).returncode == 0
    assert HOSTILE.encode() in out.read_bytes()


def test_finding_4_json_on_a_terminal_escapes_what_json_leaves_raw(
    tmp_path: Path, served: ServedSandbox
) -> None:
    env = _sandbox_env(tmp_path, served)
    served.fault("/v2/warehouse/list", status=200, body=_hostile_page(), times=2)
    args = ["call", "warehouse.list_v2", "limit:=10"]
    for style in ("--pretty", "--compact", "--all"):
        if style == "--all":
            served.fault("/v2/warehouse/list", status=200, body=_hostile_page(), times=1)
        code, screen = _in_pty([*args, style, "--no-progress" if style == "--all" else "-v"], env)
        assert code == 0, screen
        assert b"\\u001b]0;pwned\\u0007" in screen and b"\\u009b1m" in screen
        assert b"\x1b]0" not in screen and "\x9b".encode() not in screen


def test_finding_4_the_escaping_itself() -> None:
    import io
    import logging

    from ozon_async._terminal import TerminalWriter, escape_controls

    assert escape_controls("a\tb\nc") == "a\tb\nc"  # newline and tab pass
    assert escape_controls(HOSTILE) == ESCAPED
    assert escape_controls("\x00\x7f\x85") == "\\x00\\x7f\\x85"
    assert escape_controls("a\r\nb\rc", keep_crlf=True) == "a\r\nb\\rc"
    # a byte stream split anywhere: CRLF and multi-byte characters survive the boundary
    data = ("Жx\r\ny\x1b[2J\r" + "z\r").encode()
    for cut in range(len(data) + 1):
        sink = io.BytesIO()
        w = TerminalWriter(sink)
        w.write(data[:cut])
        w.write(data[cut:])
        w.close()
        assert sink.getvalue().decode() == "Жx\r\ny\\x1b[2J\\rz\\r", cut

    pytest.importorskip("mcp")
    from ozon_async.mcp._server import SecretFilter

    record = logging.LogRecord("ozon_async", logging.WARNING, "", 0, "%s: %s", (KEY, HOSTILE), None)
    assert SecretFilter([KEY]).filter(record)
    assert record.getMessage() == f"***: {ESCAPED}"


# ------------------------------------------------------------------ 2. MCP over HTTP
TOKEN = "mcp-bearer-token-0123456789abcdef"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "review", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServedMCP:
    """``OzonMCP(sandbox=True)`` serving streamable HTTP on ``host`` (a free port)."""

    def __init__(self, host: str, **options: Any) -> None:
        self.host = host
        self.port = _free_port()
        self.options = options
        self.connect = "127.0.0.1" if host == "0.0.0.0" else host
        self.url = f"http://{self.connect}:{self.port}/mcp"

    async def __aenter__(self) -> ServedMCP:
        import asyncio

        from ozon_async.mcp import OzonMCP

        self.app = OzonMCP(sandbox=True)
        await self.app.__aenter__()
        self.server = self.app.http_server(TOKEN, host=self.host, port=self.port, **self.options)
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(500):
            if self.server.started:
                break
            await asyncio.sleep(0.02)
        assert self.server.started
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        await self.task
        await self.app.__aexit__(None, None, None)

    async def post(self, headers: dict[str, str], body: object = INIT, path: str = "/mcp") -> int:
        import aiohttp

        url = f"http://{self.connect}:{self.port}{path}"
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, json=body, headers={**MCP_HEADERS, **headers}) as resp,
        ):
            await resp.read()
            return resp.status


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize("bind", ["0.0.0.0", "127.0.0.1"])
async def test_finding_2_origin_and_host_are_checked_for_every_bind_address(bind: str) -> None:
    pytest.importorskip("mcp")
    async with ServedMCP(bind) as mcp:
        here = f"127.0.0.1:{mcp.port}"
        # the review's requests: the right token, a foreign Origin or Host
        assert await mcp.post({**AUTH, "Origin": "http://evil.example"}) == 403
        assert await mcp.post({**AUTH, "Host": "evil.example"}) == 421
        assert await mcp.post({**AUTH, "Host": f"evil.example:{mcp.port}"}) == 421
        assert await mcp.post({**AUTH, "Origin": "null"}) == 403
        # without the token: 401 for a good Host, 421 first for a foreign one
        assert await mcp.post({}) == 401
        assert await mcp.post({"Authorization": "Bearer wrong-token-0123456789"}) == 401
        assert await mcp.post({"Host": "evil.example"}) == 421
        # loopback hosts and their origins are served
        assert await mcp.post(AUTH) == 200
        assert await mcp.post({**AUTH, "Host": f"localhost:{mcp.port}"}) == 200
        assert await mcp.post({**AUTH, "Origin": f"http://{here}"}) == 200
        assert await mcp.post({**AUTH, "Origin": f"http://localhost:{mcp.port}"}) == 200


async def test_finding_2_more_hosts_and_origins_only_when_configured() -> None:
    pytest.importorskip("mcp")
    options = {"allowed_hosts": ["mcp.lan", "192.168.7.7"], "allowed_origins": ["https://app.ex"]}
    async with ServedMCP("0.0.0.0", **options) as mcp:
        assert await mcp.post({**AUTH, "Host": f"mcp.lan:{mcp.port}"}) == 200
        assert await mcp.post({**AUTH, "Host": "192.168.7.7"}) == 200
        assert await mcp.post({**AUTH, "Origin": "https://app.ex"}) == 200
        assert await mcp.post({**AUTH, "Origin": "http://mcp.lan:8000"}) == 200
        assert await mcp.post({**AUTH, "Origin": "https://app.ex.evil.example"}) == 403
        assert await mcp.post({**AUTH, "Host": "192.168.7.8"}) == 421


async def test_finding_2_a_host_bound_server_accepts_its_own_address() -> None:
    pytest.importorskip("mcp")
    async with ServedMCP("127.0.0.2") as mcp:
        assert await mcp.post(AUTH) == 200  # Host: 127.0.0.2:port
        assert await mcp.post({**AUTH, "Origin": f"http://127.0.0.2:{mcp.port}"}) == 200
        assert await mcp.post({**AUTH, "Host": "127.0.0.3"}) == 421


async def test_finding_2_the_mcp_port_serves_no_sandbox_admin() -> None:
    pytest.importorskip("mcp")
    async with ServedMCP("127.0.0.1") as mcp:
        for action in ("reset", "faults", "requests", "state", "clock"):
            status = await mcp.post(
                AUTH, body={"path": "/v2/warehouse/list"}, path=f"/__admin/{action}"
            )
            assert status == 404
        assert mcp.app.sandbox_server._faults == {}


async def test_finding_3_deep_json_on_the_mcp_wire_is_a_protocol_error() -> None:
    pytest.importorskip("mcp")
    import aiohttp

    call = (
        '{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "call_read", '
        '"arguments": {"operation": "x", "arguments": {"a": ' + "[" * 1000 + "]" * 1000 + "}}}}"
    )
    async with ServedMCP("127.0.0.1") as mcp:
        import json

        async with (
            aiohttp.ClientSession() as http,
            http.post(
                mcp.url,
                data=call,
                headers={**MCP_HEADERS, **AUTH, "Content-Type": "application/json"},
            ) as resp,
        ):
            text = await resp.text()
            assert resp.status == 400 and "Traceback" not in text
            assert json.loads(text)["error"]["code"] == -32700  # parse error
        assert await mcp.post(AUTH) == 200  # still serving


@pytest.mark.parametrize(
    ("token", "words"),
    [(None, "needs a bearer token"), ("short", "at least 16"), ("x" * 15 + " ", "without spaces")],
)
def test_finding_2_the_token_is_checked_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    token: str | None,
    words: str,
) -> None:
    pytest.importorskip("mcp")
    from ozon_async.mcp import OzonMCP, main

    monkeypatch.delenv("OZON_MCP_TOKEN", raising=False)
    if token is not None:
        monkeypatch.setenv("OZON_MCP_TOKEN", token)

    async def must_not_start(self: object) -> None:
        raise AssertionError("the server started before the token was checked")

    monkeypatch.setattr(OzonMCP, "__aenter__", must_not_start)
    assert main(["--sandbox", "--http", "--host", "0.0.0.0", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert words in err and "OZON_MCP_TOKEN" in err and "listens" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--allow-host", "http://x.example"],
        ["--allow-host", "x.example:80"],
        ["--allow-host", "\udcff"],
        ["--allow-host", "bad host"],
        ["--allow-origin", "x.example"],
        ["--allow-origin", "https://\udcff"],
        ["--allow-origin", "https://x.example/path"],
    ],
)
def test_finding_2_bad_allowed_hosts_are_refused_before_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    pytest.importorskip("mcp")
    from ozon_async.mcp import main

    monkeypatch.setenv("OZON_MCP_TOKEN", TOKEN)
    assert main(["--sandbox", "--http", "--port", "1", *args]) == 2
    assert "allowed" in capsys.readouterr().err


# ------------------------------------------------------------------ 5. the sandbox admin
async def _admin(
    url: str,
    action: str,
    *,
    method: str = "POST",
    body: bytes | None = b"{}",
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    import aiohttp

    sent = {"Content-Type": "application/json", **(headers or {})}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{url}/__admin/{action}", data=body, headers=sent) as resp,
    ):
        return resp.status, await resp.text()


async def test_finding_5_a_web_page_cannot_drive_the_sandbox_admin(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ozon_async.testing import Sandbox

    async with Sandbox() as sandbox:
        assert sandbox.admin_token is None  # loopback: no token needed
        sandbox.add_fault("/v2/warehouse/list", status=503)
        url = sandbox.url
        # a link or an image: GET (and any other method but POST)
        for method in ("GET", "HEAD", "PUT", "DELETE"):
            status, _ = await _admin(url, "reset", method=method, body=None)
            assert status == 405
        # a cross-site form post: text/plain or form-encoded
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
            status, _ = await _admin(
                url, "faults", body=b'{"path": "/v1/x"}', headers={"Content-Type": ctype}
            )
            assert status == 415
        # DNS rebinding: the page's own name in Host; a cross-origin page: its Origin
        status, _ = await _admin(url, "reset", headers={"Host": f"evil.example:{sandbox.port}"})
        assert status == 421
        status, _ = await _admin(url, "reset", headers={"Origin": "http://evil.example"})
        assert status == 403
        assert list(sandbox._faults) == ["/v2/warehouse/list"]  # nothing was reset or added
        # this machine, with JSON, is served
        assert (await _admin(url, "reset", headers={"Host": f"localhost:{sandbox.port}"}))[0] == 200
        assert sandbox._faults == {}
        status, text = await _admin(url, "faults", body=b'{"path": "/v1/x", "status": 500}')
        assert status == 200 and len(sandbox._faults["/v1/x"]) == 1
        assert (await _admin(url, "clear_faults"))[0] == 200 and sandbox._faults == {}
        status, text = await _admin(url, "state", body=b"")
        assert status == 200 and '"seed"' in text


@pytest.mark.parametrize(
    ("action", "body", "reason"),
    [
        ("faults", b"{not json", "not JSON"),
        ("faults", b"[1]", "must be a JSON object"),
        ("faults", b'{"status": 500}', '"path"'),
        ("faults", b'{"path": 5}', '"path"'),
        ("faults", b'{"path": "/v1/x", "bogus": 1}', "unknown fields ['bogus']"),
        ("faults", b'{"path": "/v1/x", "status": "x"}', "status must be an HTTP status"),
        ("faults", b'{"path": "/v1/x", "status": 99}', "status must be an HTTP status"),
        ("faults", b'{"path": "/v1/x", "drop": "sometimes"}', "drop must be"),
        ("faults", b'{"path": "/v1/x", "delay": -1}', "delay must be"),
        ("faults", b'{"path": "/v1/x", "times": 0}', "times must be"),
        ("faults", b'{"path": "/v1/x", "headers": ["a"]}', "headers must map"),
        ("faults", b'{"path": "/v1/x", "body": 5}', "body must be"),
        ("clock", b'{"advance": "soon"}', '"advance" must be a number'),
        ("clock", b'{"advance": -5}', '"advance" must be a number'),
        ("clock", b'{"speed": 2}', "unknown fields ['speed']"),
        ("faults", b"\xff\xfe", "not JSON"),
    ],
)
async def test_finding_5_malformed_admin_input_is_a_400_with_the_reason(
    caplog: pytest.LogCaptureFixture, action: str, body: bytes, reason: str
) -> None:
    import json
    import logging

    from ozon_async.testing import ManualClock, Sandbox

    caplog.set_level(logging.ERROR)
    async with Sandbox(clock=ManualClock()) as sandbox:
        status, text = await _admin(sandbox.url, action, body=body)
        assert status == 400, text
        assert reason in json.loads(text)["message"]
        assert sandbox._faults == {}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no traceback logged


async def test_finding_5_off_loopback_the_admin_needs_its_token() -> None:
    from ozon_async.testing import Sandbox

    async with Sandbox(host="0.0.0.0") as sandbox:
        token = sandbox.admin_token
        assert token is not None and len(token) >= 24
        url = f"http://127.0.0.1:{sandbox.port}"
        assert (await _admin(url, "reset"))[0] == 401
        wrong = {"Authorization": "Bearer " + "x" * 32}
        assert (await _admin(url, "reset", headers=wrong))[0] == 401
        auth = {"Authorization": f"Bearer {token}"}
        assert (await _admin(url, "reset", headers=auth))[0] == 200
        # reached by a LAN address: an IP literal Host is fine, a name is not (rebinding)
        lan = {**auth, "Host": f"192.168.1.20:{sandbox.port}"}
        assert (await _admin(url, "state", headers=lan))[0] == 200
        evil = {**auth, "Host": f"evil.example:{sandbox.port}"}
        assert (await _admin(url, "state", headers=evil))[0] == 421
        assert (await _admin(url, "state", method="GET", body=None, headers=auth))[0] == 405
    async with Sandbox(host="127.0.0.1", admin_token="given-admin-token-0123") as sandbox:
        assert (await _admin(sandbox.url, "state"))[0] == 401  # a token given on loopback counts
        auth = {"Authorization": "Bearer given-admin-token-0123"}
        assert (await _admin(sandbox.url, "state", headers=auth))[0] == 200


def test_finding_5_the_command_line_sandbox_prints_how_to_reach_its_admin(tmp_path: Path) -> None:
    for host, token in (("127.0.0.1", None), ("0.0.0.0", "cli-admin-token-0123456789")):
        env = _env(tmp_path)
        if token is not None:
            env["OZON_SANDBOX_ADMIN_TOKEN"] = token
        proc = subprocess.Popen(
            [sys.executable, "-m", "ozon_async.testing", "--host", host, "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().decode()
        finally:
            proc.terminate()
            proc.wait(30)
            if proc.stdout is not None:
                proc.stdout.close()
            if proc.stderr is not None:
                proc.stderr.close()
        assert "admin: POST JSON to http://" in line
        if token is None:
            assert "Authorization" not in line
        else:
            assert "Authorization: Bearer $OZON_SANDBOX_ADMIN_TOKEN" in line and token not in line


async def test_finding_5_the_mcp_sandbox_admin_stays_on_its_own_port_and_rules() -> None:
    pytest.importorskip("mcp")
    from ozon_async.mcp import OzonMCP

    async with OzonMCP(sandbox=True) as app:
        sandbox = app.sandbox_server
        assert sandbox.host == "127.0.0.1"
        assert (await _admin(sandbox.url, "reset", method="GET", body=None))[0] == 405
        evil = {"Host": f"evil.example:{sandbox.port}"}
        assert (await _admin(sandbox.url, "reset", headers=evil))[0] == 421
        assert (await _admin(sandbox.url, "state"))[0] == 200


# ------------------------------------------------------------------ 6 and 7. downloads
class FileHost:
    """A loopback file host whose routes the test sets: ``routes[path] = (status, headers,
    body)``; records every request's path and query."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.seen: list[str] = []

    async def __aenter__(self) -> FileHost:
        from aiohttp import web

        async def handle(request: web.Request) -> web.StreamResponse:
            self.seen.append(request.path_qs)
            status, headers, body = self.routes.get(request.path, (404, {}, b"no such file"))
            return web.Response(status=status, headers=headers, body=body)

        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        self.routes[path] = (status, {"Location": location}, b"")


def _client(**options: Any) -> Any:
    from ozon_async import OzonClient

    return OzonClient("1", KEY, base_url="https://api-seller.ozon.ru", **options)


async def test_finding_6_a_redirect_loop_keeps_the_signed_query_out_of_the_error() -> None:
    from ozon_async.bulk import DownloadRedirectError

    async with FileHost() as host, _client() as client:
        host.redirect("/r.csv", "/r.csv?token=QUERYSECRET")
        with pytest.raises(DownloadRedirectError) as info:
            await client.download(host.url + "/r.csv?token=QUERYSECRET")
        text = str(info.value) + repr(info.value) + " ".join(info.value.redirects)
        assert "QUERYSECRET" not in text and "token" not in text
        assert "more than 5 redirects" in text
        assert info.value.redirects == (f"{host.url}/r.csv",) * 6
        assert len(host.seen) == 6  # the first request and five redirects, not aiohttp's ten


async def test_finding_6_aiohttps_own_messages_lose_the_query_too() -> None:
    from ozon_async import APIConnectionError

    closed = _free_port()
    async with FileHost() as host, _client(max_retries=0) as client:
        # https is followed; the connection to the (closed) port fails in aiohttp
        host.redirect("/r.csv", f"https://127.0.0.1:{closed}/f.csv?X-Amz-Signature=SIGSECRET")
        with pytest.raises(APIConnectionError) as info:
            await client.download(host.url + "/r.csv?token=QUERYSECRET")
        text = str(info.value) + repr(info.value.__cause__) + repr(info.value.__context__)
        assert "SIGSECRET" not in text and "QUERYSECRET" not in text
        assert info.value.redirects == (f"https://127.0.0.1:{closed}/f.csv",)
        assert info.value.sent is False
        # an error page that echoes the signed URL
        echo = f"AccessDenied for {host.url}/e.csv?token=ECHOSECRET&x=1"
        host.routes["/e.csv"] = (403, {}, echo.encode())
        with pytest.raises(Exception) as denied:
            await client.download(host.url + "/e.csv?token=ECHOSECRET&x=1")
        assert "ECHOSECRET" not in str(denied.value) and "AccessDenied for" in str(denied.value)


@pytest.mark.parametrize(
    "location",
    [
        "http://example.invalid/r.csv?token=S3CRET",
        "ftp://example.invalid/r.csv",
        "file:///etc/passwd",
        "//example.invalid/r.csv",  # scheme-relative: http, since the file host is http
    ],
)
async def test_finding_7_redirects_go_only_to_https(location: str) -> None:
    from ozon_async.bulk import DownloadRedirectError

    async with FileHost() as host, _client() as client:
        host.redirect("/r.csv", location, status=301)
        with pytest.raises(DownloadRedirectError, match="only to https") as info:
            await client.download(host.url + "/r.csv")
        assert "S3CRET" not in str(info.value)
        assert len(info.value.redirects) == 1 and host.seen == ["/r.csv"]


async def test_finding_7_five_redirects_are_followed_and_each_hop_is_recorded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from ozon_async.bulk import DownloadRedirectError

    caplog.set_level(logging.DEBUG, logger="ozon_async")
    async with FileHost() as host, _client() as client:
        for i in range(5):
            host.redirect(f"/{i}", f"/{i + 1}?sig=HOP{i}", status=(301, 302, 303, 307, 308)[i])
        host.routes["/5"] = (200, {}, b"the file")
        assert await client.download(host.url + "/0") == b"the file"
        hops = [r.getMessage() for r in caplog.records if "redirected" in r.getMessage()]
        assert len(hops) == 5 and all("HOP" not in h and "sig" not in h for h in hops)
        assert hops[0].endswith(f"{host.url}/0 redirected (301) to {host.url}/1")
        host.redirect("/5", "/6")
        host.routes["/6"] = (200, {}, b"one too far")
        with pytest.raises(DownloadRedirectError) as info:
            await client.download(host.url + "/0")
        assert [u.rsplit("/", 1)[1] for u in info.value.redirects] == ["1", "2", "3", "4", "5", "6"]


async def test_finding_7_plain_http_is_refused_unless_loopback_or_allowed() -> None:
    async with _client() as client:
        with pytest.raises(ValueError, match="plain http"):
            await client.download("http://192.0.2.1/r.csv?token=x")


def _gzip_bomb(size: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    return b"".join(c.compress(zeros) for _ in range(size >> 20)) + c.flush()


async def test_finding_7_a_gzip_bomb_stops_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    import tracemalloc

    import ozon_async._download as dl
    from ozon_async.bulk import DEFAULT_MAX_DOWNLOAD_BYTES, DownloadTooLargeError

    assert DEFAULT_MAX_DOWNLOAD_BYTES == 256 << 20
    bomb = _gzip_bomb(512 << 20)  # 512 MiB of zeros in about half a megabyte
    assert len(bomb) < 1 << 20
    monkeypatch.setattr(dl, "DEFAULT_MAX_DOWNLOAD_BYTES", 16 << 20)  # the default, smaller
    async with FileHost() as host, _client() as client:
        host.routes["/bomb.csv"] = (200, {"Content-Encoding": "gzip"}, bomb)
        tracemalloc.start()
        try:
            with pytest.raises(DownloadTooLargeError) as info:
                await client.download(host.url + "/bomb.csv")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert info.value.limit == 16 << 20
        assert peak < 40 << 20  # the cap plus bounded steps, not 512 MiB
        with pytest.raises(DownloadTooLargeError):
            await client.download(host.url + "/bomb.csv", max_bytes=1 << 20)


async def test_finding_7_compressed_files_arrive_whole_and_big_ones_stream_to_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip

    import ozon_async._download as dl
    from ozon_async import APIConnectionError

    data = b"".join(b"row %d;\xd0\x96\n" % i for i in range(200_000))  # 2.8 MB
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    half = len(data) // 2
    async with FileHost() as host, _client(max_retries=0) as client:
        host.routes["/g"] = (200, {"Content-Encoding": "gzip"}, gzip.compress(data))
        host.routes["/two"] = (
            200,
            {"Content-Encoding": "gzip"},
            gzip.compress(data[:half]) + gzip.compress(data[half:]),
        )
        host.routes["/z"] = (200, {"Content-Encoding": "deflate"}, zlib.compress(data))
        host.routes["/raw"] = (
            200,
            {"Content-Encoding": "deflate"},
            raw_deflate.compress(data) + raw_deflate.flush(),
        )
        for path in ("/g", "/two", "/z", "/raw"):
            assert await client.download(host.url + path) == data, path
        host.routes["/cut"] = (200, {"Content-Encoding": "gzip"}, gzip.compress(data)[:-100])
        with pytest.raises(APIConnectionError, match="corrupt"):
            await client.download(host.url + "/cut")
        host.routes["/br"] = (200, {"Content-Encoding": "br"}, b"\x0b")
        with pytest.raises(APIConnectionError, match="not asked for"):
            await client.download(host.url + "/br")
        # larger than the in-memory cap: streamed to a file, whose cap is larger
        monkeypatch.setattr(dl, "DEFAULT_MAX_DOWNLOAD_BYTES", 1 << 20)
        with pytest.raises(dl.DownloadTooLargeError):
            await client.download(host.url + "/g")
        out = await client.download(host.url + "/g", to=tmp_path / "big.csv")
        assert out.read_bytes() == data and dl.DEFAULT_MAX_FILE_BYTES == 4 << 30
        with pytest.raises(ValueError, match="not both"):
            await client.download(host.url + "/g", to=tmp_path / "a", path=tmp_path / "b")


# ------------------------------------------------------------------ what the review found right
async def test_the_key_reaches_no_log_error_hook_span_or_file_host(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging
    from datetime import timedelta

    from ozon_async import APIStatusError
    from tests._sandbox_env import sandbox_env

    caplog.set_level(logging.DEBUG)
    events: list[object] = []
    hooks = {k: [events.append] for k in ("request", "response", "retry", "end")}
    spans: list[str] = []
    extra: dict[str, Any] = {}
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from ozon_async.otel import OpenTelemetryHooks

        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        otel = OpenTelemetryHooks(tracer_provider=provider)
    except ImportError:  # pragma: no cover - the otel extra is part of dev
        otel = None
    async with sandbox_env(event_hooks=hooks) as env:
        key = "secret-api-key"
        client = env.client if otel is None else env.client.with_options(event_hooks=otel)
        env.sandbox.add_fault("/v2/warehouse/list", status=429, headers={"Retry-After": "0"})
        await env.client.warehouse.list_v2(limit=1)
        env.sandbox.add_fault("/v2/warehouse/list", status=400, body={"code": 3, "message": "bad"})
        with pytest.raises(APIStatusError) as failed:
            await client.warehouse.list_v2(limit=1)
        to = env.clock.datetime()
        report = await client.report.postings_create_v1.and_wait(
            filter={"processed_at_from": to - timedelta(days=30), "processed_at_to": to}
        )
        assert report.file_url
        await env.client.download(report.file_url + "?token=abc")
        if otel is not None:
            for span in exporter.get_finished_spans():
                spans.append(repr(span.to_json()))
            extra["spans"] = len(spans)
        texts = [
            *(r.getMessage() for r in caplog.records),
            str(failed.value),
            repr(failed.value),
            repr(failed.value.headers),
            *(repr(e) for e in events),
            *spans,
            *(repr(h) for h in env.file_requests),
            repr(env.client),
            repr(env.client.config),
        ]
        assert len(events) >= 8 and env.file_requests
        assert otel is None or extra["spans"] >= 3
        leaked = [t for t in texts if key in t]
        assert leaked == []
        # the file host got none of the client's credentials
        assert not {k.lower() for h in env.file_requests for k in h} & {"api-key", "client-id"}
