"""The Ozon Performance API (advertising): campaigns, bids, promotion and statistics reports.

::

    from ozon_async.performance import OzonPerformanceClient

    async with OzonPerformanceClient(client_id="...@advertising.performance.ozon.ru",
                                     client_secret="...") as client:
        page = await client.campaign.list(state="CAMPAIGN_STATE_RUNNING")
        report = await client.reports.statistics(
            campaigns=[c.id for c in page.list_ or []], date_from="2026-01-01", date_to="2026-03-31"
        )
        for row in report.rows: ...

The client runs on the same runtime as :class:`ozon_async.OzonClient` (transport, retries, rate
limits, hooks, OpenTelemetry); its operations are generated from spec/performance.yaml by the same
generator. Models are in :mod:`ozon_async.performance.types`; :data:`OPERATIONS` is the registry
keyed by ``"METHOD /path"``. ``import ozon_async`` does not import this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ozon_async.performance._client import DEFAULT_BASE_URL, OzonPerformanceClient

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ozon_async._operation import ApiLimits, Operation

    OPERATIONS: Mapping[str, Operation]
    LIMITS: ApiLimits

__all__ = ["DEFAULT_BASE_URL", "LIMITS", "OPERATIONS", "OzonPerformanceClient"]


def __getattr__(name: str) -> Any:
    if name in ("OPERATIONS", "LIMITS"):
        from ozon_async.performance.resources import _registry

        value = getattr(_registry, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ozon_async.performance' has no attribute {name!r}")
