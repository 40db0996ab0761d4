from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "spec" / "openapi.yaml"
# Ozon's reference files (../shared/reference beside the checkout); OZON_REFERENCE_DIR points a
# checkout elsewhere (a git worktree) at them.
REFERENCE = Path(os.environ.get("OZON_REFERENCE_DIR") or ROOT.parent / "shared" / "reference")


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    """The spec as the generator reads it (parsed once per test session)."""
    from codegen.__main__ import load_spec as read

    return dict(read(SPEC_PATH))


def spec_operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in load_spec()["paths"].items()
        for method, op in item.items()
    ]


def expected_operations() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The seed operations and the successors, from the reference when present."""
    copy = json.loads((ROOT / "tests" / "data" / "operations.json").read_text())
    seed_file = REFERENCE / "seed-operations.json"
    if seed_file.exists():
        seed = []
        for o in json.loads(seed_file.read_text()):
            method = o["method"].upper()
            seed.append(
                {
                    "method": "POST" if method.startswith("POST") else method,
                    "path": o["path"],
                    "group": o["group"],
                    "title_zh": o["title_zh"],
                    "successor": o.get("successor"),
                }
            )
    else:
        seed = copy["seed"]
    return seed, copy["successors"]


def reference_2026_operations() -> set[tuple[str, str]]:
    """Every operation of Ozon's 2026 reference files (Russian 2026-05 and 2026-08, Chinese
    2026-06), read from them when present, else from the copy in tests/data/operations.json."""
    files = [
        REFERENCE / "ozon-seller-openapi-ru-2026-05.json",
        REFERENCE / "ozon-seller-openapi-zh-2026-06.json",
        REFERENCE / "ozon-seller-openapi-ru-2026-08.json",
    ]
    if all(f.exists() for f in files):
        out = set()
        for f in files:
            for path, item in json.loads(f.read_text()).get("paths", {}).items():
                out |= {(m.upper(), path) for m in item}
        return out
    copy = json.loads((ROOT / "tests" / "data" / "operations.json").read_text())
    return {tuple(s.split(" ", 1)) for s in copy["reference_2026"]}  # type: ignore[misc]


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    return load_spec()


@pytest.fixture(autouse=True)
def _fresh_process_limiter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with the process-wide rate limiter of a fresh process. Clients made
    without ``limiter=`` share one per process (by Client-Id and method, on the real clock), so
    a test calling ``/v2/products/stocks`` as Client-Id 4242 would otherwise wait up to 0.75 s
    (80 a minute) because an earlier test of the same worker called it: a wait that depends on
    which tests ran before, on that worker."""
    import sys

    client = sys.modules.get("ozon_async._client")
    if client is not None:  # (a module that imports it later gets a fresh limiter anyway)
        from ozon_async._ratelimit import InProcessRateLimiter

        monkeypatch.setattr(client, "DEFAULT_LIMITER", InProcessRateLimiter())


def _aioresponses_compat() -> None:
    """aioresponses 0.7.9 builds ``ClientResponse`` without the ``stream_writer`` argument that
    aiohttp 3.14 (a security release) requires (pnuckowski/aioresponses#289). Until a fixed
    release exists, give it a response class that supplies a finished writer."""
    import inspect

    import aiohttp
    import aioresponses.core as core

    if "stream_writer" not in inspect.signature(aiohttp.ClientResponse.__init__).parameters:
        return

    class _DoneWriter:
        output_size = 0

    class _CompatResponse(aiohttp.ClientResponse):
        def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
            kwargs.setdefault("stream_writer", _DoneWriter())
            super().__init__(method, url, **kwargs)

    core.ClientResponse = _CompatResponse  # type: ignore[misc]


_aioresponses_compat()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (``make test``): one worker more than there are cores. Many tests spend part
    of their time waiting (for the subprocesses they start, for servers, for the real seconds a
    multi-process Redis test measures); the extra worker runs meanwhile. Measured on 2 cores:
    pytest 146 s with 2 workers, 115 s with 3 (4: no faster). PYTEST_XDIST_AUTO_NUM_WORKERS
    still decides when set."""
    env = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if env:
        return int(env)
    return (os.cpu_count() or 1) + 1
