"""Paginators walk each of Ozon's styles to the end and never ask for a page twice."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ozon_async import HTTPRequest, HTTPResponse, MockTransport, OzonClient


class Router:
    """A transport handler answering each path with ``handler(body)``."""

    def __init__(self) -> None:
        self.routes: dict[str, Any] = {}

    def __call__(self, request: HTTPRequest) -> HTTPResponse:
        return HTTPResponse(200, json=self.routes[request.path](request.json()))


@pytest.fixture
def router() -> Router:
    return Router()


@pytest.fixture
async def client(router: Router) -> AsyncIterator[OzonClient]:
    async with OzonClient("1", "k", rate_limit=None, transport=MockTransport(router)) as c:
        yield c


def serve(router: Router, path: str, handler: Any) -> list[dict[str, Any]]:
    """Answer every request to ``path`` with ``handler(body)``; return the bodies received."""
    seen: list[dict[str, Any]] = []

    def answer(body: dict[str, Any]) -> Any:
        seen.append(body)
        return handler(body)

    router.routes[path] = answer
    return seen


async def test_cursor_style(client: OzonClient, router: Router) -> None:
    pages = {"": ("c1", True), "c1": ("c2", True), "c2": ("", False)}

    def handler(body: dict[str, Any]) -> dict[str, Any]:
        cur = body.get("cursor", "")
        nxt, more = pages[cur]
        return {
            "cursor": nxt,
            "has_next": more,
            "warehouses": [{"warehouse_id": len(cur) * 10 + i, "name": cur} for i in range(2)],
        }

    seen = serve(router, "/v2/warehouse/list", handler)
    items = [w async for w in client.warehouse.list_v2.iter(limit=2)]
    assert [b.get("cursor") for b in seen] == [None, "c1", "c2"]
    assert len(items) == 6 and items[0].name == ""


async def test_offset_style_stops_on_a_short_page(client: OzonClient, router: Router) -> None:
    data = list(range(7))

    def handler(body: dict[str, Any]) -> dict[str, Any]:
        off, lim = body["offset"], body["limit"]
        return {
            "result": {
                "postings": [{"posting_number": str(i)} for i in data[off : off + lim]],
                "count": len(data),
            }
        }

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        seen = serve(router, "/v3/posting/fbs/unfulfilled/list", handler)
        got = [
            p.posting_number
            async for p in client.posting.fbs_unfulfilled_list_v3.iter(
                filter={"cutoff_from": "2024-01-01T00:00:00Z", "cutoff_to": "2024-02-01T00:00:00Z"},
                limit=3,
            )
        ]
    assert got == [str(i) for i in data]
    assert [b["offset"] for b in seen] == [0, 3, 6]


async def test_offset_style_with_has_next(client: OzonClient, router: Router) -> None:
    def handler(body: dict[str, Any]) -> dict[str, Any]:
        off = body["offset"]
        return {
            "result": {
                "postings": [{"posting_number": f"{off}-{i}"} for i in range(2)],
                "has_next": off < 4,
            }
        }

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        seen = serve(router, "/v3/posting/fbs/list", handler)
        pages = [
            p
            async for p in client.posting.fbs_list_v3.pages(
                filter={"since": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00Z"}, limit=2
            )
        ]
    assert len(pages) == 3
    assert [b["offset"] for b in seen] == [0, 2, 4]


async def test_last_id_style_from_response(client: OzonClient, router: Router) -> None:
    ids = ["", "a", "b"]

    def handler(body: dict[str, Any]) -> dict[str, Any]:
        cur = body.get("last_id", "")
        i = ids.index(cur)
        nxt = ids[i + 1] if i + 1 < len(ids) else ""
        items = [{"product_id": i * 10 + k, "offer_id": f"{i}-{k}"} for k in range(2 if nxt else 1)]
        return {"result": {"items": items, "last_id": nxt, "total": 5}}

    seen = serve(router, "/v3/product/list", handler)
    got = [p.offer_id async for p in client.product.list_v3.iter(limit=2)]
    assert [b.get("last_id") for b in seen] == [None, "a", "b"]
    assert got == ["0-0", "0-1", "1-0", "1-1", "2-0"]


async def test_last_id_style_from_the_last_item(client: OzonClient, router: Router) -> None:
    data = list(range(1, 6))

    def handler(body: dict[str, Any]) -> dict[str, Any]:
        last = body.get("last_id", 0)
        rest = [i for i in data if i > last][: body["limit"]]
        return {
            "returns": [{"id": i} for i in rest],
            "has_next": bool(rest) and rest[-1] < data[-1],
        }

    seen = serve(router, "/v1/returns/list", handler)
    got = [r.id async for r in client.returns.list_v1.iter(limit=2)]
    assert got == data
    assert [b.get("last_id") for b in seen] == [None, 2, 4]


async def test_page_style_with_page_count(client: OzonClient, router: Router) -> None:
    def handler(body: dict[str, Any]) -> dict[str, Any]:
        page = body["page"]
        return {
            "result": {
                "operations": [{"operation_id": page * 100 + i} for i in range(2)],
                "page_count": 3,
                "row_count": 6,
            }
        }

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        seen = serve(router, "/v3/finance/transaction/list", handler)
        got = [
            o.operation_id
            async for o in client.finance.transaction_list_v3.iter(
                filter={"date": {"from": "2024-01-01T00:00:00Z", "to": "2024-01-31T00:00:00Z"}},
                page_size=2,
            )
        ]
    assert [b["page"] for b in seen] == [1, 2, 3]
    assert got == [100, 101, 200, 201, 300, 301]


async def test_page_style_starting_at_zero_with_total(client: OzonClient, router: Router) -> None:
    def handler(body: dict[str, Any]) -> dict[str, Any]:
        page = body["page"]
        items = [{"sku": page * 10 + i} for i in range(2)] if page < 2 else []
        return {"items": items, "page_count": 2, "total": 4}

    seen = serve(router, "/v1/analytics/product-queries", handler)
    got = [
        i.sku
        async for i in client.analytics.product_queries_v1.iter(
            date_from="2024-01-01T00:00:00Z", skus=["1"], page_size=2
        )
    ]
    assert [b["page"] for b in seen] == [0, 1]
    assert got == [0, 1, 10, 11]


async def test_a_repeated_cursor_stops_instead_of_looping(
    client: OzonClient, router: Router
) -> None:
    def handler(body: dict[str, Any]) -> dict[str, Any]:
        return {"cursor": "same", "has_next": True, "warehouses": [{"warehouse_id": 1}]}

    seen = serve(router, "/v2/warehouse/list", handler)
    got = [w async for w in client.warehouse.list_v2.iter(limit=1)]
    assert len(seen) == 2 and len(got) == 2


async def test_pages_are_fetched_lazily(client: OzonClient, router: Router) -> None:
    def handler(body: dict[str, Any]) -> dict[str, Any]:
        return {"cursor": "next", "has_next": True, "warehouses": [{"warehouse_id": 1}]}

    seen = serve(router, "/v2/warehouse/list", handler)
    async for _ in client.warehouse.list_v2.iter(limit=1):
        break
    assert len(seen) == 1
