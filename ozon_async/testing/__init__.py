"""Test kit: a local Ozon Seller API that needs no credentials and touches no shop.

::

    from ozon_async.testing import MockOzonServer

    async with MockOzonServer() as server:
        async with OzonClient("1", "key", base_url=server.url) as client:
            await client.warehouse.list_v2(limit=10)
        server.add_fault("/v2/products/stocks", status=503)
        assert len(server.requests_for("/v2/warehouse/list")) == 1

With pytest, the ``ozon_mock`` fixture (registered by this package) starts a server on a free
port and yields it with a client pointed at it: ``ozon_mock.server``, ``ozon_mock.client``.
From a shell: ``python -m ozon_async.testing --port 8080``.
"""

from ozon_async.testing._server import Fault, MockOzonServer, RecordedRequest
from ozon_async.testing.pytest_plugin import MockOzon

__all__ = ["Fault", "MockOzon", "MockOzonServer", "RecordedRequest"]
