"""Test kit: a local Ozon shop behind the Seller API, needing no credentials and touching no shop.

::

    from ozon_async import OzonClient
    from ozon_async.testing import ManualClock, Sandbox

    clock = ManualClock()
    async with Sandbox(seed=1, clock=clock) as sandbox:
        # the sandbox accepts only its own credentials: sandbox.client_id, sandbox.api_key
        async with sandbox.client() as client:
            page = await client.posting.fbs_list_v4(limit=10, filter={...})
        sandbox.advance(30)  # sandbox time: the 30-s stock rule, task and report readiness
        sandbox.add_fault("/v2/products/stocks", status=503)
        assert len(sandbox.requests_for("/v4/posting/fbs/list")) == 1

With pytest, the ``ozon_sandbox`` fixture (registered by this package) starts a sandbox on a free
port with a manual clock and yields it with a client pointed at it; ``ozon_mock`` does the same on
real time. From a shell: ``python -m ozon_async.testing --seed 1 --speed 60`` (it prints the
Client-Id and Api-Key it accepts; ``--any-key`` accepts any).

``Sandbox(performance=True)`` also serves the Performance (advertising) API on a port of its own
(``sandbox.performance.url``); :class:`PerformanceSandbox` serves it alone.
"""

from ozon_async.testing._clock import ManualClock, SandboxClock, ScaledClock
from ozon_async.testing._kit import MockOzon, OzonSandbox
from ozon_async.testing._performance import PerformanceSandbox
from ozon_async.testing._server import (
    SANDBOX_ACCESS_TOKEN,
    SANDBOX_API_KEY,
    SANDBOX_CLIENT_ID,
    Fault,
    MockOzonServer,
    RecordedRequest,
    Sandbox,
)

__all__ = [
    "SANDBOX_ACCESS_TOKEN",
    "SANDBOX_API_KEY",
    "SANDBOX_CLIENT_ID",
    "Fault",
    "ManualClock",
    "MockOzon",
    "MockOzonServer",
    "OzonSandbox",
    "PerformanceSandbox",
    "RecordedRequest",
    "Sandbox",
    "SandboxClock",
    "ScaledClock",
]
