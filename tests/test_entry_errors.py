"""A user's mistake in any entry point (a busy port, a missing file, a bad profile, an
unreachable Redis) is a short message on stderr and a non-zero exit code, never a traceback.
The real commands run in subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._redis import free_port

BIN = Path(sys.executable).parent
PY = [sys.executable]


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("OZON_")}
    out["OZON_ASYNC_CONFIG"] = str(tmp_path / "no-config.toml")
    out.update(extra)
    return out


def run(
    cmd: list[str], environ: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, env=environ, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout
    )


def one_line(proc: subprocess.CompletedProcess[str], *needles: str, lines: int = 1) -> str:
    text = proc.stdout + proc.stderr
    assert proc.returncode not in (0, None), text
    assert "Traceback" not in text, text
    said = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert 1 <= len(said) <= lines, said
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)
    return proc.stderr


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


@pytest.mark.parametrize(
    "command,prefix",
    [
        (["-m", "ozon_async.testing", "--port"], "python -m ozon_async.testing:"),
        (["ozon", "sandbox", "--port"], "ozon sandbox:"),
        (["-m", "ozon_async.mcp", "--sandbox", "--sandbox-port"], "ozon_async.mcp:"),
        (["ozon", "mcp", "--sandbox", "--sandbox-port"], "ozon_async.mcp:"),
    ],
    ids=["python-m-testing", "ozon-sandbox", "python-m-mcp", "ozon-mcp"],
)
def test_a_busy_port_is_one_line(
    tmp_path: Path, busy_port: int, command: list[str], prefix: str
) -> None:
    cmd = [str(BIN / command[0]), *command[1:]] if command[0] == "ozon" else [*PY, *command]
    proc = run([*cmd, str(busy_port)], env(tmp_path))
    one_line(proc, prefix, f"port {busy_port} is already in use")


def test_the_mcp_http_port_busy_is_one_line(tmp_path: Path, busy_port: int) -> None:
    token = {"OZON_MCP_TOKEN": "a-long-enough-test-token"}
    cmd = [*PY, "-m", "ozon_async.mcp", "--sandbox", "--http", "--port", str(busy_port)]
    one_line(run(cmd, env(tmp_path, **token)), f"port {busy_port} is already in use")


@pytest.mark.parametrize(
    "cmd",
    [
        [str(BIN / "ozon"), "call", "warehouse.list_v2", "limit:=1", "--profile", "nope"],
        [str(BIN / "ozon"), "stocks", "push", "stocks.csv", "--profile", "nope"],
        [*PY, "-m", "ozon_async.mcp", "--profile", "nope"],
    ],
    ids=["ozon-call", "ozon-stocks-push", "mcp"],
)
def test_a_bad_profile_is_one_line(tmp_path: Path, cmd: list[str]) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.main]\nclient_id = "1"\napi_key = "k"\n')
    config.chmod(0o600)
    one_line(run(cmd, env(tmp_path, OZON_ASYNC_CONFIG=str(config))), "nope")


@pytest.mark.parametrize(
    "cmd,needle",
    [
        ([str(BIN / "ozon"), "call", "warehouse.list_v2", "--json", "@missing.json"], "missing"),
        ([str(BIN / "ozon"), "stocks", "push", "missing.csv"], "missing.csv"),
        ([str(BIN / "ozon"), "sandbox", "--start", "yesterday"], "--start"),
        ([*PY, "-m", "ozon_async.mcp", "--config", "missing.toml"], "missing.toml"),
        ([*PY, "-m", "ozon_async.mcp", "--sandbox", "--log-level", "loud"], "--log-level"),
    ],
    ids=["call-json-file", "push-file", "sandbox-start", "mcp-config", "mcp-log-level"],
)
def test_a_missing_file_or_bad_option_is_short(tmp_path: Path, cmd: list[str], needle: str) -> None:
    environ = env(tmp_path, OZON_CLIENT_ID="1", OZON_API_KEY="k")
    proc = subprocess.run(
        cmd, env=environ, capture_output=True, text=True, stdin=subprocess.DEVNULL,
        timeout=60, cwd=tmp_path,
    )  # fmt: skip
    one_line(proc, needle, lines=2)  # the message, and "nothing was sent" for ozon call


def test_an_unreachable_redis_is_short_for_every_entry_point(tmp_path: Path) -> None:
    """OZON_RATE_LIMIT_REDIS_URL at a port nothing listens on: with on_error=raise the call
    fails with a short message (the limiter's warning and the error); by default the command
    paces alone, warns once and succeeds."""
    sandbox = subprocess.Popen(
        [*PY, "-m", "ozon_async.testing", "--port", "0"],
        env=env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert sandbox.stdout is not None
        url = sandbox.stdout.readline().split(" on ", 1)[1].split()[0]
        base = env(
            tmp_path,
            OZON_BASE_URL=url,
            OZON_CLIENT_ID="123456",
            OZON_API_KEY="sandbox-api-key",
            OZON_RATE_LIMIT_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        )
        call = [str(BIN / "ozon"), "call", "warehouse.list_v2", "limit:=1"]
        failed = run(call, {**base, "OZON_RATE_LIMIT_REDIS_ON_ERROR": "raise"})
        one_line(failed, "Redis at redis://127.0.0.1:", "nothing was sent", lines=2)
        assert failed.returncode == 1
        alone = run(call, base)
        assert alone.returncode == 0 and "Traceback" not in alone.stderr
        assert alone.stderr.count("\n") == 1 and "pacing in this process only" in alone.stderr
        mcp = run([*PY, "-m", "ozon_async.mcp", "--profile", "x"], base)
        one_line(mcp, "no profile 'x'")
    finally:
        sandbox.terminate()
        sandbox.communicate(timeout=20)
