"""The one catalogue of operations (ozon_async/_catalog.py): lookup, search, pagination in JSON
names, and that the command line, the MCP server and the sandbox all go through it."""

from __future__ import annotations

import ast
from pathlib import Path

import msgspec
import pytest

from ozon_async import _catalog
from ozon_async._catalog import PERFORMANCE, SELLER
from ozon_async.resources._registry import OPERATIONS

PACKAGE = Path(__file__).resolve().parent.parent / "ozon_async"


def test_find_accepts_every_spelling_in_any_case() -> None:
    op = OPERATIONS["POST /v4/posting/fbs/list"]
    for text in (
        "posting.fbs_list_v4",
        "POST /v4/posting/fbs/list",
        "post   /v4/posting/fbs/list",
        "/v4/posting/fbs/list",
        op.operation_id,
        "Posting.Fbs_List_V4",
    ):
        assert _catalog.find(text) is op, text
    perf = _catalog.find("perf.campaign.list")
    assert _catalog.api_of(perf) == PERFORMANCE and perf.key == "GET /api/client/campaign"
    # without the prefix only where the Performance API is the one searched
    assert _catalog.find("campaign.list", (PERFORMANCE,)) is perf
    with pytest.raises(_catalog.OperationNotFound):
        _catalog.find("perf.campaign.list", (SELLER,))


def test_find_names_close_operations_and_the_methods_of_a_shared_path() -> None:
    with pytest.raises(_catalog.OperationNotFound) as err:
        _catalog.find("posting.fbs_lst_v4")
    assert "posting.fbs_list_v4" in err.value.suggestions
    path = "/api/client/campaign/{campaignId}/products"
    with pytest.raises(_catalog.OperationNotFound) as err:
        _catalog.find(path, (PERFORMANCE,))
    assert len(err.value.ambiguous) == 2 and all(
        k.endswith(" " + path) for k in err.value.ambiguous
    )
    assert "several methods" in str(err.value)


def test_search_in_english_chinese_and_russian_with_named_methods_first() -> None:
    stocks = OPERATIONS["POST /v2/products/stocks"]
    first = _catalog.search("stocks")[:2]  # methods named by the query come first
    assert stocks in first and all(o.name.startswith("stocks") for o in first)
    zh = _catalog.title_zh(stocks)
    assert zh and stocks in _catalog.search(zh)
    assert stocks in _catalog.search("остатков")  # a Russian word in another form
    assert _catalog.search("no-such-thing-anywhere") == []
    everything = _catalog.search(None, group="posting")
    assert everything and all(o.group == "posting" for o in everything)
    removed = [o for o in OPERATIONS.values() if o.removed]
    assert removed and not set(removed) & set(_catalog.search(None))
    assert set(removed) <= set(_catalog.search(None, include_removed=True))


def test_the_json_walker_maps_the_model_names_onto_json_names() -> None:
    """The one mapping of JSON names onto Pagination (CLI --all, MCP fetch_all): for every
    paginated operation, the position and page size are the request model's JSON names of the
    Python attributes the typed paginator uses, and the items path the answer's JSON names."""
    checked = 0
    for op in OPERATIONS.values():
        walker = _catalog.json_walker(op)
        if op.pagination is None:
            assert walker is None and _catalog.items_path(op) == []
            continue
        assert walker is not None and op.request_type is not None
        json_of = {f.name: f.encode_name for f in msgspec.structs.fields(op.request_type)}
        assert walker.position == json_of[op.pagination.position], op.key
        if op.pagination.limit is not None:
            assert walker.limit == json_of[op.pagination.limit], op.key
        assert walker.next == op.pagination.next and walker.total == op.pagination.total
        assert len(_catalog.items_path(op)) == len(op.pagination.items), op.key
        checked += 1
    assert checked > 50


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


@pytest.mark.parametrize(
    "module",
    ["cli/_ops.py", "cli/_perf.py", "cli/_call.py", "mcp/_catalog.py", "mcp/_tools.py"],
)
def test_the_cli_and_the_mcp_server_use_the_same_catalogue(module: str) -> None:
    assert "ozon_async._catalog" in _imports(PACKAGE / module)


def test_the_packaged_specs_are_read_in_one_place() -> None:
    readers = sorted(
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if '"openapi.json"' in p.read_text(encoding="utf-8")
    )
    assert readers == ["_catalog.py"]


def test_profiles_become_clients_in_one_place() -> None:
    """profiles.seller_client / performance_client: no other module builds a client from a
    profile's fields (client_kwargs / performance_kwargs)."""
    users = sorted(
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if "client_kwargs()" in p.read_text(encoding="utf-8")
        or ".performance_kwargs()" in p.read_text(encoding="utf-8")
    )
    assert users == ["profiles.py"]
