"""Near-miss names: an unknown attribute of the client or of a group suggests the nearest real
names across groups, and an unknown request key the nearest allowed ones, at any depth."""

from __future__ import annotations

import pytest

from ozon_async import OzonClient, RequestValidationError
from ozon_async.testing import MockOzon


@pytest.mark.parametrize(
    "path,suggestion",
    [
        ("product.stocks_v2", "did you mean client.products.stocks_v2?"),
        ("products.stock_v2", "did you mean client.products.stocks_v2?"),
        ("warehouse.lst_v2", "client.warehouse.list_v2"),
        ("posting.fbs_lits_v4", "client.posting.fbs_list_v4"),
        ("prodcut", "did you mean client.product or client.products?"),
        ("stocks_v2", "did you mean client.products.stocks_v2?"),
    ],
)
def test_an_unknown_attribute_suggests_the_nearest_names(path: str, suggestion: str) -> None:
    obj: object = OzonClient("1", "k")
    *head, last = path.split(".")
    for part in head:
        obj = getattr(obj, part)
    with pytest.raises(AttributeError) as info:
        getattr(obj, last)
    assert suggestion in str(info.value)
    assert f"has no attribute {last!r}" in str(info.value)


def test_private_and_real_names_are_untouched() -> None:
    client = OzonClient("1", "k")
    assert not hasattr(client, "_no_such_private")
    assert not hasattr(client.product, "__wrapped__")
    assert client.products.stocks_v2.operation.path == "/v2/products/stocks"
    with pytest.raises(AttributeError, match=r"no attribute 'zzzzzz'$"):
        client.zzzzzz  # noqa: B018  (nothing close: no suggestion)


async def test_an_unknown_request_key_suggests_the_nearest_allowed_one(
    ozon_mock: MockOzon,
) -> None:
    client = ozon_mock.client
    period = {"since": "2026-01-01T00:00:00Z", "to": "2026-01-31T00:00:00Z"}
    with pytest.raises(RequestValidationError) as info:
        await client.posting.fbs_list_v4(limit=1, filter={**period, "statuse": ["delivered"]})
    assert info.value.field == "filter.statuse"
    assert "did you mean `statuses`?" in str(info.value)
    with pytest.raises(RequestValidationError) as deep:
        await client.product.import_v3(items=[{"offer_idd": "A-1"}])
    assert (
        "did you mean `offer_id`?" in str(deep.value) and deep.value.field == "items[0].offer_idd"
    )
    assert ozon_mock.server.requests == []  # nothing was sent
