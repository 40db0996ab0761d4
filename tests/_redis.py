"""A real redis-server on a free loopback port, and a fleet of worker processes sharing one
RedisRateLimiter, for the tests and the benchmark.

``RedisServer().start()`` runs the ``redis-server`` binary (Debian's ``redis-server`` package;
``.ci/run`` installs it) with no persistence, waits until it answers ``PING``, and
``stop()``/``kill()`` end it; ``start()`` again reuses the same port, as a restarted Redis would.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: Set by .ci/run: a test that needs Redis fails instead of skipping when none can be started.
REQUIRE_ENV = "OZON_REQUIRE_REDIS"


class RedisUnavailable(RuntimeError):
    """No redis-server could be started here."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_binary() -> str | None:
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if os.path.exists(p)),
        None,
    )


class RedisServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="ozon-redis-")
        self._log = Path(self._dir.name) / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        binary = find_binary()
        if binary is None:
            raise RedisUnavailable(
                "no redis-server binary on PATH (Debian: apt-get install -y redis-server)"
            )
        args = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            self._dir.name,
            "--logfile",
            str(self._log),
            "--daemonize",
            "no",
        ]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.ping():
                return self
            time.sleep(0.02)
        log = self._log.read_text(errors="replace")[-2000:] if self._log.exists() else ""
        self.stop()
        raise RedisUnavailable(f"redis-server on port {self.port} did not start: {log.strip()}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        """Send one command (RESP) and return the raw reply."""
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = a.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(b"".join(parts))
            return s.recv(65536)

    def kill(self) -> None:
        """End the server at once (SIGKILL), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- several workers
ROOT = Path(__file__).resolve().parent.parent


def most_in_window(times: list[float], width: float) -> int:
    """The most events in any window (t - width, t]."""
    times = sorted(times)
    best = j = 0
    for i, t in enumerate(times):
        while times[j] <= t - width + 1e-9:
            j += 1
        best = max(best, i - j + 1)
    return best


class MockProcess:
    """``python -m ozon_async.testing`` in its own process (no pauses from the caller's heap)."""

    def __init__(self, rate_limit: float = 50.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.rate_limit = rate_limit
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> MockProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ozon_async.testing",
            "--port",
            str(self.port),
            "--items",
            "10",
            "--rate-limit",
            str(self.rate_limit),
            "--any-key",  # the workers use their own Client-Id and key
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        assert self.url in line.decode(), line
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            await self.proc.wait()

    async def requests(self) -> list[dict[str, Any]]:
        import aiohttp

        async with (
            aiohttp.ClientSession() as s,
            s.post(self.url + "/__admin/requests", json={}) as r,
        ):
            data: list[dict[str, Any]] = await r.json()
            return data


async def run_workers(
    mode: str,
    n: int,
    mock: str,
    redis_url: str,
    prefix: str,
    *args: str,
    first: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Run ``n`` processes of tests/_redis_worker.py that start together once all have warmed
    up; their JSON results. ``first``: more arguments for the first worker alone."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests._redis_worker",
            mode,
            mock,
            redis_url,
            prefix,
            *args,
            f"w{i}",
            *(first if i == 0 else ()),
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for i in range(n)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            line = await asyncio.wait_for(p.stdout.readline(), 120)
            if line.strip() != b"ready":
                err = await p.stderr.read() if p.stderr else b""
                raise RuntimeError(f"worker did not start: {line!r} {err.decode()[-3000:]}")
        start_at = f"{time.time() + 0.2}\n".encode()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write(start_at)
            await p.stdin.drain()
            p.stdin.close()
        results: list[dict[str, Any]] = []
        for p in procs:
            out, err = await asyncio.wait_for(p.communicate(), 120)
            if p.returncode != 0:
                raise RuntimeError(f"worker failed: {err.decode()[-3000:]}")
            results.append(json.loads(out))
        return results
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()


async def shared_budget_run(
    redis_url: str,
    prefix: str,
    workers: int = 4,
    seconds: float = 4.0,
    concurrency: int = 50,
    stall: str | None = None,
) -> dict[str, Any]:
    """``workers`` processes (own OzonClient each, Client-Id 4242, 50 rps, ``concurrency``
    calls in flight) share one RedisRateLimiter budget against the mock (50 rps per Client-Id,
    counted in sliding 1 s windows, 429 past that) in its own process. ``stall``
    (``LOW:HIGH:EVERY``) holds the first worker's every EVERY-th request between grant and
    sending. Returns what the server saw."""
    async with MockProcess(rate_limit=50.0) as mock:
        results = await run_workers(
            "pace",
            workers,
            mock.url,
            redis_url,
            prefix,
            str(seconds),
            str(concurrency),
            first=(stall,) if stall else (),
        )
        seen = await mock.requests()
    arrivals = sorted(r["at"] for r in seen if r["path"] == "/v1/roles")
    # the rate over the run itself: requests still arriving after it (sent just before the
    # workers stopped) would stretch the span
    steady = [t for t in arrivals if t <= arrivals[0] + seconds] if arrivals else []
    by_seq = {r["headers"].get("X-Seq"): r["at"] for r in seen}
    spread = sorted(by_seq[tag] - t for res in results for tag, t in res["grants"] if tag in by_seq)
    errors: dict[str, int] = {}
    for res in results:
        for name, count in res["errors"].items():
            errors[name] = errors.get(name, 0) + count
    return {
        "requests": len(arrivals),
        "rate": (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else 0.0,
        "busiest": most_in_window(arrivals, 1.0),
        "errors": errors,
        "per_worker": [res["ok"] for res in results],
        "spread": spread,
        "worker_cpu": [res["cpu"] for res in results],
        "too_many": errors.get("RateLimitError", 0),
        "stalled": sum(res["stalled"] for res in results),
        "steps": [res["steps"] for res in results],
    }


def quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")
