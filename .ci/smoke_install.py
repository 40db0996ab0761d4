#!/usr/bin/env python3
"""What a user installs works: build the wheel and the sdist, install each into clean
virtualenvs (no extras, then each extra), and run every entry point there.

    python3 .ci/smoke_install.py            # everything (about two minutes, most of it pip)
    python3 .ci/smoke_install.py --keep     # keep build/smoke/ (venvs, dist) for a look

Each virtualenv is made with the standard library's ``venv`` outside the source tree, and every
check runs from a scratch directory, so nothing imports the checkout by accident. One virtualenv
per set of extras: the wheel is installed and checked, then the sdist is installed over it (the
same dependencies, ``--no-deps``) and checked again. The ``cli,mcp`` set installs the source tree
with the README's own line (``pip install '/path/to/ozon_async[cli,mcp]'``). The last step adds
pytest and pytest-asyncio to the no-extras virtualenv and runs the README's pytest example with
warnings as errors.

Checks (the ones an extra does not enable must fail with one line and a non-zero exit code,
never a traceback): ``import ozon_async``; ``from ozon_async.testing import Sandbox`` (and a call
through it, without pytest installed); ``python -m ozon_async.testing`` (serves, prints the
credentials it accepts, refuses a wrong key, one line for a busy port); ``ozon`` and
``python -m ozon_async`` (``ozon sandbox``, ``ozon call``, a bad profile, a busy port);
``python -m ozon_async.mcp --sandbox`` and ``ozon mcp --sandbox`` (an MCP session over stdio);
the Redis limiter (an unreachable Redis) and the OpenTelemetry hooks.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "smoke"
EXTRA_SETS = ["", "cli", "mcp", "redis", "otel"]
STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[smoke {time.monotonic() - STARTED:6.1f} s] {message}", flush=True)


def sh(
    *cmd: str | Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = 600,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
    )
    if check and proc.returncode != 0:
        raise SystemExit(
            f"smoke: {' '.join(map(str, cmd))} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
        )
    return proc


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without OZON_* settings and Python path tweaks of the caller."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("OZON_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["OZON_ASYNC_CONFIG"] = str(WORK / "no-config.toml")
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------ build, venvs
def build() -> tuple[Path, Path]:
    """The sdist, and the wheel built from it (``python -m build`` does both, in that order)."""
    tools = make_venv("tools")
    sh(tools / "bin" / "python", "-m", "pip", "install", "--quiet", "build", "hatchling>=1.21")
    dist = WORK / "dist"
    # the build backend is installed above: no isolated environment to set up twice
    sh(tools / "bin" / "python", "-m", "build", "--no-isolation", "--outdir", dist, ROOT,
       timeout=900)  # fmt: skip
    (wheel,) = dist.glob("ozon_async-*.whl")
    (sdist,) = dist.glob("ozon_async-*.tar.gz")
    return wheel, sdist


def make_venv(name: str) -> Path:
    path = WORK / f"venv-{name or 'bare'}"
    if path.exists():
        shutil.rmtree(path)
    sh(sys.executable, "-m", "venv", path)
    sh(path / "bin" / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    return path


def pip(venv: Path, *args: str | Path) -> None:
    sh(venv / "bin" / "python", "-m", "pip", "install", "--quiet", *args, timeout=900)


# ------------------------------------------------------------------------------ checks
def one_line_failure(proc: subprocess.CompletedProcess[str], what: str, *needles: str) -> None:
    """A user's mistake: a non-zero exit code and a short message, never a traceback."""
    text = proc.stdout + proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    if proc.returncode == 0 or "Traceback" in text or not lines or len(lines) > 3:
        raise SystemExit(
            f"smoke: {what}: expected one line and a non-zero exit code, got "
            f"{proc.returncode}:\n{text[-2000:]}"
        )
    for needle in needles:
        if needle not in text:
            raise SystemExit(f"smoke: {what}: {needle!r} not in:\n{text[-2000:]}")


class Served:
    """A server command that prints its URL (and the credentials it accepts) on stdout."""

    def __init__(self, cmd: list[str | Path], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [str(c) for c in cmd],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        second = self.proc.stdout.readline()
        found = re.search(r"on (http://\S+)", first)
        creds = re.search(r"Client-Id (\S+), Api-Key (\S+)", second)
        if not found or not creds:
            self.stop()
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise SystemExit(f"smoke: {cmd} did not start:\n{first}{second}{err}")
        self.url = found.group(1)
        self.client_id, self.api_key = creds.group(1), creds.group(2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        stderr = self.proc.stderr.read() if self.proc.stderr else ""
        if "Traceback" in stderr:
            raise SystemExit(f"smoke: a traceback when the server stopped:\n{stderr}")


PY_CHECK = """
import asyncio, inspect, sys
import ozon_async
from ozon_async import OzonClient, AuthenticationError
from ozon_async.testing import Sandbox

assert ozon_async.__file__.startswith(sys.prefix), ozon_async.__file__  # the installed copy
for name in ("pytest", "pytest_asyncio"):
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        raise SystemExit(f"{name} is installed: the check would prove nothing")

async def main():
    async with Sandbox(seed=1) as sandbox, sandbox.client() as client:
        page = await client.warehouse.list_v2(limit=2)
        assert len(page.warehouses) == 2
        assert "barcodes" in str(inspect.signature(client.barcode.add_v1))
        try:
            client.product.stocks_v2
        except AttributeError as exc:
            assert "client.products.stocks_v2" in str(exc), exc
        async with OzonClient("1", "wrong", base_url=sandbox.url, max_retries=0) as bad:
            try:
                await bad.roles.list_v1()
            except AuthenticationError as exc:
                assert exc.code == 16
            else:
                raise AssertionError("a wrong key was accepted")

asyncio.run(main())
print("ok")
"""


def check_python(venv: Path, tmp: Path) -> None:
    out = sh(venv / "bin" / "python", "-c", PY_CHECK, cwd=tmp, env=clean_env())
    assert out.stdout.strip() == "ok", out.stdout


def call_client(venv: Path, tmp: Path, served: Served, key: str | None = None) -> str:
    code = textwrap.dedent(
        f"""
        import asyncio
        from ozon_async import OzonClient, OzonError

        async def main():
            async with OzonClient({served.client_id!r}, {key or served.api_key!r},
                                  base_url={served.url!r}, max_retries=0) as c:
                try:
                    print(len((await c.warehouse.list_v2(limit=3)).warehouses))
                except OzonError as exc:
                    print(type(exc).__name__)

        asyncio.run(main())
        """
    )
    return sh(venv / "bin" / "python", "-c", code, cwd=tmp, env=clean_env()).stdout.strip()


def check_sandbox_module(venv: Path, tmp: Path) -> None:
    python = venv / "bin" / "python"
    served = Served([python, "-m", "ozon_async.testing", "--port", "0"], tmp, clean_env())
    try:
        assert call_client(venv, tmp, served) == "3"
        assert call_client(venv, tmp, served, key="revoked") == "AuthenticationError"
    finally:
        served.stop()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        proc = sh(python, "-m", "ozon_async.testing", "--port", port, cwd=tmp, env=clean_env(),
                  check=False, timeout=60)  # fmt: skip
    one_line_failure(proc, "sandbox on a busy port", "already in use")


def check_cli(venv: Path, tmp: Path, extras: set[str]) -> None:
    ozon = venv / "bin" / "ozon"
    for cmd in ([ozon, "--version"], [venv / "bin" / "python", "-m", "ozon_async", "--version"]):
        proc = sh(*cmd, cwd=tmp, env=clean_env(), check=False)
        if "cli" not in extras:
            one_line_failure(proc, "ozon without the cli extra", "ozon-async[cli]")
            continue
        if proc.returncode != 0 or "ozon" not in proc.stdout:
            raise SystemExit(f"smoke: {cmd} failed: {proc.stdout}{proc.stderr}")
    if "cli" not in extras:
        return
    served = Served([ozon, "sandbox", "--port", "0", "--speed", "60"], tmp, clean_env())
    try:
        env = clean_env(
            OZON_BASE_URL=served.url, OZON_CLIENT_ID=served.client_id, OZON_API_KEY=served.api_key
        )
        proc = sh(ozon, "call", "warehouse.list_v2", "limit:=2", "--compact", cwd=tmp, env=env)
        assert proc.stdout.count('"warehouse_id"') == 2, proc.stdout
        proc = sh(ozon, "call", "warehouse.list_v2", "--profile", "nope", cwd=tmp, env=env,
                  check=False)  # fmt: skip
        one_line_failure(proc, "ozon call with a bad profile", "nope")
        proc = sh(ozon, "call", "warehouse.list_v2", "--json", "@missing.json", cwd=tmp,
                  env=env, check=False)  # fmt: skip
        one_line_failure(proc, "ozon call with a missing file", "missing.json")
        redis_env = {**env, "OZON_RATE_LIMIT_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
                     "OZON_RATE_LIMIT_REDIS_ON_ERROR": "raise"}  # fmt: skip
        proc = sh(ozon, "call", "warehouse.list_v2", "limit:=1", cwd=tmp, env=redis_env,
                  check=False)  # fmt: skip
        needle = "Redis" if "redis" in extras else "ozon-async[redis]"
        one_line_failure(proc, "ozon call with an unreachable Redis", needle)
        proc = sh(ozon, "sandbox", "--port", served.url.rsplit(":", 1)[1], cwd=tmp,
                  env=clean_env(), check=False, timeout=60)  # fmt: skip
        one_line_failure(proc, "ozon sandbox on a busy port", "ozon sandbox:", "already in use")
    finally:
        served.stop()


MCP_SESSION = """
import asyncio, json, sys
from mcp import Client, StdioServerParameters

async def main():
    params = StdioServerParameters(command=sys.argv[1], args=sys.argv[2:])
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert "call_read" in tools, tools
        read = await client.call_tool(
            "call_read", {"operation": "warehouse.list_v2", "arguments": {"limit": 2}}
        )
        assert not read.is_error, read
        assert len(json.loads(read.content[0].text)["result"]["warehouses"]) == 2

asyncio.run(main())
print("ok")
"""


def check_mcp(venv: Path, tmp: Path, extras: set[str]) -> None:
    python = venv / "bin" / "python"
    if "mcp" not in extras:
        proc = sh(python, "-m", "ozon_async.mcp", "--sandbox", cwd=tmp, env=clean_env(),
                  check=False, input="")  # fmt: skip
        one_line_failure(proc, "the MCP server without the mcp extra", "ozon-async[mcp]")
        return
    servers = [[python, "-m", "ozon_async.mcp", "--sandbox"]]
    if "cli" in extras:
        servers.append([venv / "bin" / "ozon", "mcp", "--sandbox"])
    for server in servers:
        out = sh(python, "-c", MCP_SESSION, *server, cwd=tmp, env=clean_env(), timeout=120)
        assert out.stdout.strip().endswith("ok"), out.stdout
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        proc = sh(python, "-m", "ozon_async.mcp", "--sandbox", "--sandbox-port", port,
                  cwd=tmp, env=clean_env(), check=False, input="", timeout=60)  # fmt: skip
    one_line_failure(proc, "the MCP sandbox on a busy port", "already in use")
    proc = sh(python, "-m", "ozon_async.mcp", "--profile", "nope", cwd=tmp, env=clean_env(),
              check=False, input="")  # fmt: skip
    one_line_failure(proc, "the MCP server with a bad profile", "nope")


REDIS_CHECK = """
import asyncio, sys
from ozon_async import ConfigurationError, RateLimiterUnavailableError
from ozon_async.redis_limiter import RedisRateLimiter
from ozon_async.testing import Sandbox

async def main():
    try:
        limiter = RedisRateLimiter.from_url(sys.argv[1], on_error="raise", retry_interval=60)
    except ConfigurationError as exc:
        print("no redis:", exc)
        return
    async with Sandbox() as sandbox, limiter, sandbox.client(limiter=limiter) as client:
        try:
            await client.warehouse.list_v2(limit=1)
        except RateLimiterUnavailableError:
            print("unavailable")

asyncio.run(main())
"""

OTEL_CHECK = """
import asyncio
try:
    from ozon_async.otel import OpenTelemetryHooks
except ImportError as exc:
    print("no otel:", exc)
    raise SystemExit(0)
from ozon_async.testing import Sandbox

async def main():
    async with Sandbox() as sandbox, sandbox.client(event_hooks=OpenTelemetryHooks()) as c:
        assert (await c.warehouse.list_v2(limit=1)).warehouses
    print("traced")

asyncio.run(main())
"""


def check_extras(venv: Path, tmp: Path, extras: set[str]) -> None:
    python = venv / "bin" / "python"
    url = f"redis://127.0.0.1:{free_port()}/0"
    out = sh(python, "-c", REDIS_CHECK, url, cwd=tmp, env=clean_env()).stdout
    expected = "unavailable" if "redis" in extras else "ozon-async[redis]"
    assert expected in out, out
    out = sh(python, "-c", OTEL_CHECK, cwd=tmp, env=clean_env()).stdout
    # without the extra, the OpenTelemetry API may still come with another package (mcp's)
    assert "traced" in out if "otel" in extras else ("traced" in out or "[otel]" in out), out


def check_all(venv: Path, extras: set[str], label: str, *, quick: bool = False) -> None:
    """Every entry point; ``quick`` (the sdist installed over the wheel's dependencies): the
    package itself and the one entry point its extra adds."""
    with tempfile.TemporaryDirectory(prefix="ozon-smoke-") as scratch:
        tmp = Path(scratch)
        check_python(venv, tmp)
        if quick:
            if extras & {"redis", "otel"}:
                check_extras(venv, tmp, extras)
            if "cli" in extras:
                sh(venv / "bin" / "ozon", "--version", cwd=tmp, env=clean_env())
            if "mcp" in extras:
                out = sh(venv / "bin" / "python", "-c", MCP_SESSION, venv / "bin" / "python",
                         "-m", "ozon_async.mcp", "--sandbox", cwd=tmp, env=clean_env())  # fmt: skip
                assert out.stdout.strip().endswith("ok"), out.stdout
            log(f"{label}: installs and works")
            return
        check_sandbox_module(venv, tmp)
        check_cli(venv, tmp, extras)
        check_mcp(venv, tmp, extras)
        check_extras(venv, tmp, extras)
    log(f"{label}: every entry point works")


PYTEST_FILE = """
import pytest

from ozon_async import ServerError


async def test_a_failed_write_is_not_sent_twice(ozon_sandbox):
    ozon_sandbox.sandbox.add_fault("/v2/products/stocks", status=503)
    with pytest.raises(ServerError):
        await ozon_sandbox.client.products.stocks_v2(
            stocks=[{"offer_id": "ART-01001", "stock": 1, "warehouse_id": 1}]
        )
    assert len(ozon_sandbox.sandbox.requests_for("/v2/products/stocks")) == 1
"""


def check_pytest_plugin(venv: Path) -> None:
    """The README's pytest set-up, warnings as errors: the fixtures come from the plugin."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"```toml\n(\[tool\.pytest\.ini_options\]\n.*?)```", readme, re.S)
    if found is None:
        raise SystemExit("smoke: the README has no [tool.pytest.ini_options] block")
    pip(venv, "pytest", "pytest-asyncio")
    with tempfile.TemporaryDirectory(prefix="ozon-smoke-") as scratch:
        tmp = Path(scratch)
        (tmp / "pyproject.toml").write_text(found.group(1))
        (tmp / "test_shop.py").write_text(PYTEST_FILE)
        sh(venv / "bin" / "python", "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider",
           cwd=tmp, env=clean_env())  # fmt: skip
    log("pytest plugin: the README's set-up runs the fixtures with warnings as errors")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", action="store_true", help="keep build/smoke/ afterwards")
    args = ap.parse_args()
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    try:
        wheel, sdist = build()
        log(f"built {wheel.name} and {sdist.name}")

        def install(name: str) -> Path:
            venv = make_venv(name)
            pip(venv, f"{wheel}[{name}]" if name else wheel)
            return venv

        # the installs wait on the network and the disk: three at a time
        with ThreadPoolExecutor(max_workers=3) as pool:
            venvs = dict(zip(EXTRA_SETS, pool.map(install, EXTRA_SETS), strict=True))
            readme = pool.submit(make_venv, "cli-mcp")
            log("installed the wheel into " + ", ".join(f"[{n or 'no extras'}]" for n in venvs))
            for name, venv in venvs.items():
                extras = set(filter(None, [name]))
                check_all(venv, extras, f"wheel [{name or 'no extras'}]")
                pip(venv, "--force-reinstall", "--no-deps", sdist)
                check_all(venv, extras, f"sdist [{name or 'no extras'}]", quick=True)
            venv = readme.result()
        pip(venv, f"{ROOT}[cli,mcp]")  # the README's install line
        check_all(venv, {"cli", "mcp"}, "source tree [cli,mcp] (the README's line)")
        check_pytest_plugin(venvs[""])
    finally:
        if not args.keep:
            shutil.rmtree(WORK, ignore_errors=True)
    log("all installs work")
    return 0


if __name__ == "__main__":
    sys.exit(main())
