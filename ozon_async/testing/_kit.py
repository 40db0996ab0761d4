"""What the pytest fixtures yield (:class:`MockOzon`, :class:`OzonSandbox`).

Kept apart from :mod:`ozon_async.testing.pytest_plugin` so that ``from ozon_async.testing import
...`` works where pytest is not installed (the ``ozon sandbox`` command, the MCP server's
``--sandbox``, an application's own scripts): only the plugin module imports pytest, and only
pytest loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ozon_async._client import OzonClient
    from ozon_async.testing._clock import ManualClock
    from ozon_async.testing._server import Sandbox


@dataclass
class MockOzon:
    """What the ``ozon_mock`` fixture yields: a sandbox on real time and a client."""

    server: Sandbox
    client: OzonClient

    @property
    def url(self) -> str:
        return self.server.url


@dataclass
class OzonSandbox:
    """What the ``ozon_sandbox`` fixture yields.

    Attributes:
        sandbox: the running :class:`~ozon_async.testing.Sandbox` (seed 1).
        client: an :class:`~ozon_async.OzonClient` pointed at it, sharing its clock.
        clock: the :class:`~ozon_async.testing.ManualClock` both run on.
    """

    sandbox: Sandbox
    client: OzonClient
    clock: ManualClock

    @property
    def url(self) -> str:
        return self.sandbox.url

    def advance(self, seconds: float) -> None:
        """Move sandbox time forward (the client sees the same time)."""
        self.clock.advance(seconds)
