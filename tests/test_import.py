"""What importing the package loads: only the client's own runtime. msgspec, aiohttp, logging,
dataclasses, inspect and the generated groups, models and registry load on first use, and that
first use works. Each check runs in a fresh interpreter (timings are for ``make bench``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import ozon_async
from tests.conftest import ROOT

#: Modules ``import ozon_async`` (and ``from ozon_async import OzonClient``) must not load.
LOADED_ON_FIRST_USE = (
    "msgspec",
    "aiohttp",
    "logging",
    "dataclasses",
    "inspect",
    "asyncio",
    "typing_extensions",
    "hashlib",
    "ozon_async._models",
    "ozon_async._codec",
    "ozon_async._request",
    "ozon_async._resource",
    "ozon_async.types",
    "ozon_async.resources._registry",
    "ozon_async.resources.roles",
    "ozon_async.push",
)


def run(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter; it fails the test if the code raises."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out


def loaded_after(statement: str) -> list[str]:
    out = run(
        f"""
        import json, sys
        {statement}
        watched = {list(LOADED_ON_FIRST_USE)!r}
        print(json.dumps([m for m in watched if m in sys.modules]))
        """
    )
    return list(json.loads(out.stdout))


@pytest.mark.parametrize(
    "statement", ["import ozon_async", "from ozon_async import OzonClient, OzonError"]
)
def test_importing_the_package_loads_none_of_them(statement: str) -> None:
    assert loaded_after(statement) == []


def test_making_a_client_loads_none_of_them() -> None:
    # the default transport makes its aiohttp session on the first request
    assert loaded_after("from ozon_async import OzonClient; OzonClient('1', 'key')") == []


def test_first_use_loads_what_it_needs_and_works() -> None:
    run(
        """
        import sys
        from ozon_async import OzonClient
        from ozon_async.types import RolesListV1Response   # a model: msgspec now

        assert "msgspec" in sys.modules and "aiohttp" not in sys.modules

        import asyncio
        from ozon_async.testing import MockOzonServer

        async def main():
            async with MockOzonServer() as server, OzonClient(
                server.client_id, server.api_key, base_url=server.url
            ) as client:
                answer = await client.roles.list_v1()   # the default (aiohttp) transport
                assert isinstance(answer, RolesListV1Response), answer
                raw = await client.raw(client.roles.list_v1)
                assert raw.parse() == answer and isinstance(raw.json(), dict)
                assert "logging" in sys.modules   # aiohttp imports it

        asyncio.run(main())
        """
    )


def test_lazy_names_resolve_to_their_objects() -> None:
    from ozon_async._models import BinaryResponse, Model
    from ozon_async._request import UploadFile
    from ozon_async.redis_limiter import RedisRateLimiter

    assert ozon_async.Model is Model
    assert ozon_async.BinaryResponse is BinaryResponse
    assert ozon_async.UploadFile is UploadFile
    assert ozon_async.RedisRateLimiter is RedisRateLimiter
    assert set(ozon_async.__all__) <= set(dir(ozon_async))
    for name in ozon_async.__all__:
        assert getattr(ozon_async, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        ozon_async.NoSuchThing  # noqa: B018


def test_every_exported_name_imports_in_a_fresh_interpreter() -> None:
    names = ", ".join(ozon_async.__all__)
    run(f"from ozon_async import {names}; import ozon_async; assert ozon_async.Model is Model")


def test_a_failing_hook_is_still_logged_by_the_logger_made_on_first_use() -> None:
    # no handler configured: the warning reaches stderr through logging's last resort
    out = run(
        """
        import sys
        from ozon_async import HTTPResponse, MockTransport, OzonClient

        assert "logging" not in sys.modules
        import asyncio  # which imports logging

        def broken(event):
            raise RuntimeError("hook bug")

        async def main():
            transport = MockTransport(lambda request: HTTPResponse(200, json={"roles": []}))
            async with OzonClient(
                "1", "key", transport=transport, event_hooks={"end": broken}
            ) as client:
                await client.request("POST", "/v1/roles", json={})

        asyncio.run(main())
        """
    )
    assert "event hook" in out.stderr and "hook bug" in out.stderr


def test_debug_logging_configured_after_the_import_is_honoured() -> None:
    out = run(
        """
        import asyncio
        from ozon_async import HTTPResponse, MockTransport, OzonClient
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(name)s %(levelname)s %(message)s")

        async def main():
            transport = MockTransport(lambda request: HTTPResponse(200, json={"roles": []}))
            async with OzonClient("1", "key", transport=transport) as client:
                await client.request("POST", "/v1/roles", json={})

        asyncio.run(main())
        """
    )
    assert "ozon_async DEBUG POST /v1/roles -> 200 (attempt 1" in out.stderr


def test_the_sandbox_and_entry_points_need_no_pytest() -> None:
    """What a user installs without the dev tools: pytest and pytest-asyncio cannot be imported,
    and the test kit, the sandbox and the entry points' modules still load and work (only the
    pytest plugin module, which pytest itself loads, imports them)."""
    run(
        """
        import sys
        sys.modules["pytest"] = None            # `import pytest` now raises ImportError
        sys.modules["pytest_asyncio"] = None

        import asyncio
        from ozon_async.testing import Sandbox, ManualClock, OzonSandbox, MockOzon
        import ozon_async.testing.__main__
        import ozon_async.mcp, ozon_async.cli

        async def main():
            async with Sandbox(seed=1) as sandbox, sandbox.client() as client:
                assert (await client.warehouse.list_v2(limit=1)).warehouses

        asyncio.run(main())
        try:
            import ozon_async.testing.pytest_plugin
        except ImportError:
            pass
        else:
            raise AssertionError("the plugin module should need pytest")
        """
    )
