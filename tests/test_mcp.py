"""The MCP server driven through the official ``mcp`` SDK's client, in memory, against the mock
Ozon server on a real loopback port."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

# The MCP SDK (about a second to import) loads when a test first needs it, not when pytest
# collects this module in every worker.
if importlib.util.find_spec("mcp") is None:
    pytest.skip("the MCP SDK (mcp) is not installed", allow_module_level=True)

from ozon_async import OPERATIONS, OzonClient, mcp as ozon_mcp
from ozon_async.mcp import Settings
from ozon_async.mcp._catalog import request_schema
from ozon_async.mcp._render import is_money_key, money_as_strings, render
from ozon_async.profiles import Profile
from ozon_async.testing import MockOzonServer

if TYPE_CHECKING:
    from mcp import Client

    from ozon_async.mcp import OzonMCP

KEY = "mcp-test-key-5f1d3c9e8b7a"
OTHER_KEY = "mcp-other-key-0a9b8c7d6e5f"
STOCKS = "/v2/products/stocks"
STOCK_ARGS = {"stocks": [{"offer_id": "PH-1", "stock": 7, "warehouse_id": 22142605386000}]}
POSTINGS_FILTER = {"filter": {"since": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}}


class Session:
    """An MCP client session; every answer is checked never to contain a key."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.texts: list[str] = []

    async def call(self, tool: str, **arguments: Any) -> tuple[Any, bool]:
        result = await self.client.call_tool(tool, arguments)
        assert len(result.content) == 1
        text = result.content[0].text  # type: ignore[union-attr]
        self.texts.append(text)
        assert KEY not in text and OTHER_KEY not in text
        return json.loads(text), result.is_error

    async def ok(self, tool: str, **arguments: Any) -> Any:
        data, is_error = await self.call(tool, **arguments)
        assert not is_error, data
        return data

    async def error(self, tool: str, **arguments: Any) -> dict[str, Any]:
        data, is_error = await self.call(tool, **arguments)
        assert is_error, data
        err: dict[str, Any] = data["error"]
        return err


@pytest.fixture
async def mock() -> AsyncIterator[MockOzonServer]:
    # the tests serve several shops (Client-Ids and keys) from one mock
    async with MockOzonServer(any_key=True) as server:
        yield server


@asynccontextmanager
async def connect(app: OzonMCP) -> AsyncIterator[Session]:
    """An MCP client connected in memory (entered and left in the test's own task, as the
    SDK's task groups require)."""
    from mcp import Client

    async with Client(app.server) as client:
        yield Session(client)


@pytest.fixture
async def app(mock: MockOzonServer) -> AsyncIterator[OzonMCP]:
    async with ozon_mcp.OzonMCP([Profile("main", "111", KEY, base_url=mock.url)]) as server:
        yield server


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


# ---------------------------------------------------------------------------------- catalog


async def test_tools_are_listed_with_truthful_annotations(app: OzonMCP) -> None:
    async with connect(app) as mcp:
        listed = {t.name: t for t in (await mcp.client.list_tools()).tools}
        assert set(listed) == {
            "search_operations",
            "describe_operation",
            "call_read",
            "call_write",
            "fetch_all",
        }
        hints = {
            name: (
                t.annotations.read_only_hint,
                t.annotations.destructive_hint,
                t.annotations.idempotent_hint,
                t.annotations.open_world_hint,
            )
            for name, t in listed.items()
            if t.annotations is not None
        }
        assert hints == {
            "search_operations": (True, False, True, False),
            "describe_operation": (True, False, True, False),
            "call_read": (True, False, True, True),
            "fetch_all": (True, False, True, True),
            "call_write": (False, True, False, True),
        }
        write = listed["call_write"].input_schema
        assert write["required"] == ["operation"]
        assert write["additionalProperties"] is False
        assert {"confirm", "dry_run", "arguments"} <= set(write["properties"])
        # one shop: no shop argument
        assert "shop" not in listed["call_read"].input_schema["properties"]


async def test_search_finds_russian_words_and_hides_removed_operations(app: OzonMCP) -> None:
    """Russian words in any case or form (ё as е) find the Russian titles, and through the
    glossary the English names; operations Ozon's reference no longer lists only on request."""
    async with connect(app) as mcp:
        for query, wanted in {
            "остатки": "POST /v2/products/stocks",
            "Остатков": "POST /v1/analytics/stocks",
            "склады": "POST /v2/warehouse/list",
            "отправления": "POST /v3/posting/fbs/list",
            "этикетка": "POST /v2/posting/fbs/package-label",
            "ОТЧЁТ об остатках": "POST /v1/report/warehouse/stock",
        }.items():
            found = await mcp.ok("search_operations", query=query, limit=100)
            assert wanted in [o["operation"] for o in found["operations"]], query
        found = await mcp.ok("search_operations", query="остатки", limit=5)
        assert "POST /v2/products/stocks" in [o["operation"] for o in found["operations"]]
        chats = await mcp.ok("search_operations", query="список чатов")
        assert [o["operation"] for o in chats["operations"]] == ["POST /v3/chat/list"]
        assert chats["removed_hidden"] == 1 and "include_removed" in chats["note"]
        every = await mcp.ok("search_operations", query="список чатов", include_removed=True)
        old = {o["operation"]: o for o in every["operations"]}["POST /v2/chat/list"]
        assert old["removed"] == "2026-08-14" and old["replaced_by"] == "chat.list_v3"
        described = await mcp.ok("describe_operation", operation="chat.list_v2")
        assert described["removed"] == "2026-08-14"
        assert described["title_ru"] == "Список чатов"
        err = await mcp.error("search_operations", query="чаты", include_removed="yes")
        assert err["type"] == "invalid_arguments" and err["field"] == "include_removed"


async def test_search_finds_the_stock_update_by_a_word(app: OzonMCP) -> None:
    async with connect(app) as mcp:
        found = await mcp.ok("search_operations", query="stock")
        ops = {o["operation"]: o for o in found["operations"]}
        assert "POST /v2/products/stocks" in ops
        hit = ops["POST /v2/products/stocks"]
        assert hit["id"] == "products.stocks_v2"
        assert hit["safety"] == "write"
        assert hit["summary"] == "Update product stocks at warehouses"
        # every hit mentions the word somewhere
        for o in found["operations"]:
            text = (o["operation"] + o["summary"] + o["id"]).lower()
            assert "stock" in text
        # Chinese title, path fragment and safety of a read
        zh = await mcp.ok("search_operations", query="更新库存")
        assert zh["operations"][0]["operation"] == "POST /v2/products/stocks"
        by_path = await mcp.ok("search_operations", query="/v2/warehouse/list")
        assert by_path["operations"][0] == {
            "id": "warehouse.list_v2",
            "operation": "POST /v2/warehouse/list",
            "summary": OPERATIONS["POST /v2/warehouse/list"].summary,
            "safety": "read",
            "title_zh": by_path["operations"][0]["title_zh"],
            "title_ru": "Список складов",
            "paginated": True,
        }
        archive = await mcp.ok("search_operations", query="archive product")
        assert archive["operations"][0]["operation"] == "POST /v1/product/archive"
        assert archive["operations"][0]["safety"] == "destructive"
        nothing = await mcp.ok("search_operations", query="zzqx")
        assert nothing["operations"] == [] and "note" in nothing


async def test_describe_gives_a_self_contained_schema_and_the_rate_limit(app: OzonMCP) -> None:
    async with connect(app) as mcp:
        d = await mcp.ok("describe_operation", operation="POST /v2/products/stocks")
        assert d["id"] == "products.stocks_v2"
        assert d["tool"] == "call_write"
        assert d["safety"] == "write"
        schema = d["arguments_schema"]
        assert _refs(schema) == []
        assert schema["required"] == ["stocks"]
        stocks = schema["properties"]["stocks"]
        assert stocks["maxItems"] == 100
        item = stocks["items"]
        assert {"offer_id", "product_id", "stock", "warehouse_id"} <= set(item["properties"])
        assert set(item["required"]) == {"stock", "warehouse_id"}
        limit = d["rate_limits"]["operation"]
        assert (limit["requests"], limit["period_seconds"]) == (80, 60)
        assert limit["text"] == "80 requests per minute per Client-Id"
        assert d["title_zh"] == "更新库存商品的数量"
        assert d["arguments_example"]["stocks"][0]["offer_id"] == "PH11042"
        # the same operation by its other names
        for name in ("products.stocks_v2", "/v2/products/stocks", "products_stocks_v2"):
            assert (await mcp.ok("describe_operation", operation=name))[
                "id"
            ] == "products.stocks_v2"
        # pagination, deprecation and successor
        old = await mcp.ok("describe_operation", operation="posting.fbs_list_v3")
        assert old["deprecated"] is True
        assert old["replaced_by"] == "posting.fbs_list_v4"
        assert old["pagination"]["style"] == "offset"
        assert old["pagination"]["position_argument"] == "offset"
        # destructive operations say how to allow them
        arch = await mcp.ok("describe_operation", operation="product.archive_v1")
        assert arch["safety"] == "destructive"
        assert arch["destructive_allowed"] is False
        assert "--allow product.archive_v1" in arch["how_to_call"]


async def test_unknown_operation_suggests_close_names(app: OzonMCP) -> None:
    async with connect(app) as mcp:
        err = await mcp.error("describe_operation", operation="products.stock_v2")
        assert err["type"] == "unknown_operation"
        assert "products.stocks_v2" in err["suggestions"]


def test_every_request_schema_is_self_contained_and_valid() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    for key, op in OPERATIONS.items():
        schema = request_schema(op)
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        for ref in _refs(schema):
            assert ref.startswith("#/$defs/"), (key, ref)
            assert ref.removeprefix("#/$defs/") in schema["$defs"], (key, ref)
        example = op.request_type and _example(op)
        if example is not None:
            # the spec's example validates against the schema we hand out
            validator.validate(example)


def _example(op: Any) -> Any:
    from ozon_async.mcp._catalog import op_spec

    body = op_spec(op).get("requestBody") or {}
    return body.get("content", {}).get("application/json", {}).get("example")


# ---------------------------------------------------------------------------------- reads


async def test_call_read_returns_the_answer(app: OzonMCP, mock: MockOzonServer) -> None:
    async with connect(app) as mcp:
        got = await mcp.ok("call_read", operation="warehouse.list_v2", arguments={"limit": 5})
        assert got["operation"] == "POST /v2/warehouse/list"
        assert got["shop"] == "main"
        warehouses = got["result"]["warehouses"]
        sent = mock.requests_for("/v2/warehouse/list")
        assert len(sent) == 1
        # the same data the typed SDK call returns
        async with OzonClient("111", KEY, base_url=mock.url) as client:
            typed = await client.warehouse.list_v2(limit=5)
        assert 0 < len(warehouses) <= 5
        assert [w["warehouse_id"] for w in warehouses] == [
            w.warehouse_id for w in typed.warehouses or []
        ]
        assert sent[0].body == {"limit": 5}
        assert sent[0].client_id == "111"
        # a GET without arguments
        actions = await mcp.ok("call_read", operation="GET /v1/actions")
        assert "result" in actions["result"]


async def test_call_read_refuses_writes_and_bad_arguments(
    app: OzonMCP, mock: MockOzonServer
) -> None:
    async with connect(app) as mcp:
        err = await mcp.error("call_read", operation="products.stocks_v2", arguments=STOCK_ARGS)
        assert err["type"] == "wrong_tool"
        err = await mcp.error("call_read", operation="warehouse.list_v2", arguments={"limt": 5})
        assert err["type"] == "invalid_arguments"
        assert err["field"] == "limt"
        assert err["sent"] is False
        err = await mcp.error("call_read", operation="warehouse.list_v2", arguments={"limit": "x"})
        assert err["field"] == "limit"
        err = await mcp.error("call_read", operation="GET /v1/actions", arguments={"page": 1})
        assert err["field"] == "page"
        err = await mcp.error("call_read", operation="warehouse.list_v2", arguments=[1])
        assert err["field"] == "arguments"
        err = await mcp.error("call_read", operation="warehouse.list_v2", argumnts={})
        assert err["field"] == "argumnts"
        assert mock.requests == []


async def test_ozon_errors_come_back_with_code_message_and_trace_id(
    app: OzonMCP, mock: MockOzonServer
) -> None:
    async with connect(app) as mcp:
        mock.add_fault(
            "/v2/warehouse/list",
            status=400,
            body={"code": 3, "message": "limit is too big", "details": []},
            headers={"x-o3-trace-id": "trace-42"},
        )
        err = await mcp.error("call_read", operation="warehouse.list_v2", arguments={"limit": 5})
        assert err == {
            "type": "ozon_error",
            "message": "limit is too big",
            "status": 400,
            "code": 3,
            "trace_id": "trace-42",
            "sent": True,
        }


async def test_the_key_is_scrubbed_even_when_an_answer_echoes_it(
    app: OzonMCP, mock: MockOzonServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with connect(app) as mcp:
        caplog.set_level("DEBUG")
        mock.add_fault(
            "/v2/warehouse/list", status=403, body={"code": 7, "message": f"key {KEY} has no role"}
        )
        err = await mcp.error("call_read", operation="warehouse.list_v2", arguments={"limit": 5})
        assert err["message"] == "key *** has no role"
        await mcp.ok(
            "call_write", operation="products.stocks_v2", arguments=STOCK_ARGS, confirm=True
        )
        assert KEY not in caplog.text
        assert any("call_write" in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------------------------- writes


async def test_write_without_confirm_sends_nothing_and_shows_the_body(
    app: OzonMCP, mock: MockOzonServer
) -> None:
    async with connect(app) as mcp:
        preview = await mcp.ok("call_write", operation="products.stocks_v2", arguments=STOCK_ARGS)
        assert preview["sent"] is False
        assert preview["body"] == STOCK_ARGS
        assert "confirm=true" in preview["next_step"]
        dry = await mcp.ok(
            "call_write",
            operation="products.stocks_v2",
            arguments=STOCK_ARGS,
            confirm=True,
            dry_run=True,
        )
        assert dry["sent"] is False
        assert mock.requests_for(STOCKS) == []
        assert mock.requests == []


async def test_the_preview_is_the_validated_body(app: OzonMCP, mock: MockOzonServer) -> None:
    async with connect(app) as mcp:
        # numbers sent as text are converted the way the typed call converts them
        loose = {"stocks": [{"offer_id": "PH-1", "stock": "7", "warehouse_id": "22142605386000"}]}
        preview = await mcp.ok("call_write", operation="products.stocks_v2", arguments=loose)
        assert preview["body"] == STOCK_ARGS
        sent = await mcp.ok(
            "call_write", operation="products.stocks_v2", arguments=loose, confirm=True
        )
        assert sent["sent"] is True
        assert mock.requests_for(STOCKS)[0].body == preview["body"]


async def test_write_with_confirm_is_sent_once(app: OzonMCP, mock: MockOzonServer) -> None:
    async with connect(app) as mcp:
        done = await mcp.ok(
            "call_write", operation="products.stocks_v2", arguments=STOCK_ARGS, confirm=True
        )
        assert done["sent"] is True
        assert "result" in done["result"]
        sent = mock.requests_for(STOCKS)
        assert len(sent) == 1
        assert sent[0].body == STOCK_ARGS


async def test_a_write_that_may_have_arrived_is_not_resent(
    app: OzonMCP, mock: MockOzonServer
) -> None:
    async with connect(app) as mcp:
        mock.add_fault(STOCKS, drop="after_read")
        err = await mcp.error(
            "call_write", operation="products.stocks_v2", arguments=STOCK_ARGS, confirm=True
        )
        assert err["type"] == "connection_error"
        assert err["may_have_been_received"] is True
        assert len(mock.requests_for(STOCKS)) == 1


async def test_misspelt_write_argument_is_refused_naming_the_field(
    app: OzonMCP, mock: MockOzonServer
) -> None:
    async with connect(app) as mcp:
        bad = {"stocks": [{"ofer_id": "PH-1", "stock": 7, "warehouse_id": 1}]}
        for confirm in (False, True):
            err = await mcp.error(
                "call_write", operation="products.stocks_v2", arguments=bad, confirm=confirm
            )
            assert err["type"] == "invalid_arguments"
            assert err["field"] == "stocks[0].ofer_id"
            assert "ofer_id" in err["message"]
            assert err["sent"] is False
        too_many = {"stocks": [STOCK_ARGS["stocks"][0]] * 101}
        err = await mcp.error("call_write", operation="products.stocks_v2", arguments=too_many)
        assert err["field"] == "stocks"
        err = await mcp.error("call_write", operation="warehouse.list_v2", arguments={})
        assert err["type"] == "wrong_tool"
        err = await mcp.error("call_write", operation="products.stocks_v2", confirm="yes")
        assert err["field"] == "confirm"
        assert mock.requests == []


async def test_destructive_operation_is_refused_unless_allowed(
    app: OzonMCP, mock: MockOzonServer
) -> None:
    async with connect(app) as mcp:
        args = {"product_id": [123]}
        preview = await mcp.ok("call_write", operation="product.archive_v1", arguments=args)
        assert preview["sent"] is False
        assert preview["safety"] == "destructive"
        assert "--allow-destructive" in preview["next_step"]
        err = await mcp.error(
            "call_write", operation="product.archive_v1", arguments=args, confirm=True
        )
        assert err["type"] == "not_allowed"
        assert err["sent"] is False
        assert mock.requests == []


@pytest.mark.parametrize(
    "settings",
    [
        Settings(allow_destructive=True),
        Settings(allow=frozenset({"POST /v1/product/archive"})),
    ],
    ids=["allow-destructive", "allow-list"],
)
async def test_destructive_operation_is_sent_when_allowed(
    mock: MockOzonServer, settings: Settings
) -> None:
    profile = Profile("main", "111", KEY, base_url=mock.url)
    async with ozon_mcp.OzonMCP([profile], settings=settings) as app, connect(app) as s:
        listed = await s.ok("call_read", operation="product.list_v3", arguments={"limit": 1})
        product_id = listed["result"]["result"]["items"][0]["product_id"]
        done = await s.ok(
            "call_write",
            operation="product.archive_v1",
            arguments={"product_id": [product_id]},
            confirm=True,
        )
        assert done["sent"] is True
        assert [r.body for r in mock.requests_for("/v1/product/archive")] == [
            {"product_id": [product_id]}
        ]
        other = await s.call(
            "call_write",
            operation="posting.fbs_cancel_v2",
            arguments={
                "posting_number": "1-1",
                "cancel_reason_id": 352,
                "cancel_reason_message": "x",
            },
            confirm=True,
        )
        if settings.allow_destructive:
            # sent: the sandbox answers for itself (it has no posting 1-1)
            assert len(mock.requests_for("/v2/posting/fbs/cancel")) == 1
        else:  # the allow-list names only the archive
            assert other[1] is True
            assert other[0]["error"]["type"] == "not_allowed"
            assert mock.requests_for("/v2/posting/fbs/cancel") == []


# ---------------------------------------------------------------------------------- paging


async def test_fetch_all_stops_at_max_items(mock: MockOzonServer) -> None:
    profile = Profile("main", "111", KEY, base_url=mock.url)
    roomy = Settings(budget=2_000_000)  # every item shown; trimming is tested below
    async with ozon_mcp.OzonMCP([profile], settings=roomy) as app, connect(app) as mcp:
        got = await mcp.ok(
            "fetch_all",
            operation="posting.fbs_list_v4",
            arguments={**POSTINGS_FILTER, "limit": 20},
            max_items=50,
        )
        assert "trimmed" not in got
        assert got["count"] == 50
        assert len(got["items"]) == 50
        assert got["complete"] is False
        assert got["pages"] == 3
        assert "max_items=50" in got["stopped"]
        numbers = [p["posting_number"] for p in got["items"]]
        assert len(set(numbers)) == 50
    sent = mock.requests_for("/v4/posting/fbs/list")
    # cursor pagination: the first page without a cursor, then the cursor of each answer
    cursors = [r.body.get("cursor") for r in sent]
    assert cursors[0] is None
    assert all(cursors[1:]) and len(set(cursors)) == 3
    assert all(r.body["limit"] == 20 for r in sent)


async def test_fetch_all_walks_every_page(mock: MockOzonServer) -> None:
    profile = Profile("main", "111", KEY, base_url=mock.url)
    roomy = Settings(budget=20_000_000)  # every item shown
    async with ozon_mcp.OzonMCP([profile], settings=roomy) as app, connect(app) as mcp:
        got = await mcp.ok(
            "fetch_all",
            operation="posting.fbs_list_v4",
            arguments={**POSTINGS_FILTER, "limit": 40},
            max_items=10_000,
        )
        assert got["complete"] is True
        pages = mock.requests_for("/v4/posting/fbs/list")
        assert got["pages"] == len(pages) > 2
        # the same items as the SDK's own paginator
        async with OzonClient("111", KEY, base_url=mock.url) as client:
            walked = [
                p.posting_number
                async for p in client.posting.fbs_list_v4.iter(limit=40, **POSTINGS_FILTER)
            ]
        assert "trimmed" not in got
        assert [p["posting_number"] for p in got["items"]] == walked
        assert got["count"] == len(walked) > 80
        # the page size is filled in (from the spec's maximum) when the arguments lack it
        small = await mcp.ok("fetch_all", operation="warehouse.list_v2", max_items=3)
        assert small["filled_in"] == {"limit": 3}
        err = await mcp.error("fetch_all", operation="products.stocks_v2", arguments=STOCK_ARGS)
        assert err["type"] == "wrong_tool"
        err = await mcp.error("fetch_all", operation="warehouse.list_v2", max_items=0)
        assert err["field"] == "max_items"


async def test_fetch_all_validates_before_sending(app: OzonMCP, mock: MockOzonServer) -> None:
    async with connect(app) as mcp:
        err = await mcp.error(
            "fetch_all", operation="posting.fbs_list_v4", arguments={"filtr": {}}, max_items=10
        )
        assert err["field"] == "filtr"
        assert mock.requests == []


async def test_oversized_answer_is_trimmed_with_a_note(mock: MockOzonServer) -> None:
    profile = Profile("main", "111", KEY, base_url=mock.url)
    async with (
        ozon_mcp.OzonMCP([profile], settings=Settings(budget=6000)) as app,
        connect(app) as s,
    ):
        got = await s.ok(
            "fetch_all",
            operation="posting.fbs_list_v4",
            arguments=POSTINGS_FILTER,
            max_items=100,
        )
        assert len(s.texts[-1].encode()) <= 6000
        note = got["trimmed"]
        assert note["budget_bytes"] == 6000
        assert note["full_answer_bytes"] > 6000
        cut = note["cut"][0]
        assert cut["path"] == "items"
        assert cut["of"] == 100
        assert 0 < cut["kept"] == len(got["items"]) < 100
        assert "max_items" in note["how_to_get_the_rest"]
        assert got["count"] == 100  # what was fetched; the note says what is shown

        page = await s.ok(
            "call_read",
            operation="posting.fbs_list_v4",
            arguments={**POSTINGS_FILTER, "limit": 100},
        )
        assert len(s.texts[-1].encode()) <= 6000
        cut = page["trimmed"]["cut"][0]
        assert cut["path"] == "result.postings"
        assert cut["of"] == 100 and 0 < cut["kept"] == len(page["result"]["postings"])
        assert page["result"]["has_next"] is True  # what is not a list is kept
        assert "`cursor`" in page["trimmed"]["how_to_get_the_rest"]


# ---------------------------------------------------------------------------------- shops


async def test_several_shops_each_with_its_own_client(mock: MockOzonServer) -> None:
    shops = [
        Profile("main", "111", KEY, base_url=mock.url),
        Profile("second", "222", OTHER_KEY, base_url=mock.url),
    ]
    async with ozon_mcp.OzonMCP(shops) as app, connect(app) as s:
        listed = {t.name: t for t in (await s.client.list_tools()).tools}
        for name in ("call_read", "call_write", "fetch_all"):
            schema = listed[name].input_schema
            assert schema["properties"]["shop"]["enum"] == ["main", "second"]
            assert "shop" in schema["required"]
        assert "shop" not in listed["search_operations"].input_schema["properties"]
        one = {"limit": 1}
        err = await s.error("call_read", operation="warehouse.list_v2", arguments=one)
        assert err["field"] == "shop"
        err = await s.error("call_read", operation="warehouse.list_v2", arguments=one, shop="third")
        assert err["field"] == "shop"
        a = await s.ok("call_read", operation="warehouse.list_v2", arguments=one, shop="main")
        b = await s.ok("call_read", operation="warehouse.list_v2", arguments=one, shop="second")
        assert (a["shop"], b["shop"]) == ("main", "second")
    assert [r.client_id for r in mock.requests] == ["111", "222"]
    assert [r.headers["Api-Key"] for r in mock.requests] == ["***", "***"]


async def test_a_default_shop_makes_shop_optional(mock: MockOzonServer) -> None:
    shops = [
        Profile("main", "111", KEY, base_url=mock.url),
        Profile("second", "222", OTHER_KEY, base_url=mock.url),
    ]
    async with ozon_mcp.OzonMCP(shops, default_shop="second") as app, connect(app) as s:
        schema = {t.name: t for t in (await s.client.list_tools()).tools}["call_read"]
        assert "shop" not in schema.input_schema["required"]
        got = await s.ok("call_read", operation="warehouse.list_v2", arguments={"limit": 1})
        assert got["shop"] == "second"
    assert [r.client_id for r in mock.requests] == ["222"]


async def test_sandbox_mode_points_every_tool_at_a_local_shop() -> None:
    async with ozon_mcp.OzonMCP(sandbox=True) as app:
        sandbox = app.sandbox_server
        assert sandbox.url.startswith("http://127.0.0.1:")
        assert "SANDBOX" in app.instructions()
        async with connect(app) as s:
            got = await s.ok("call_read", operation="warehouse.list_v2", arguments={"limit": 2})
            assert got["shop"] == "sandbox"
            await s.ok("call_write", operation="products.stocks_v2", arguments=STOCK_ARGS)
            assert sandbox.requests_for(STOCKS) == []
            await s.ok(
                "call_write", operation="products.stocks_v2", arguments=STOCK_ARGS, confirm=True
            )
            assert len(sandbox.requests_for(STOCKS)) == 1
        key = app.shops.secrets[0]
        assert all(key not in t for t in s.texts)


# ---------------------------------------------------------------------------------- rendering


def test_money_rule() -> None:
    for key in ("price", "old_price", "marketing_seller_price", "commission_amount", "payout"):
        assert is_money_key(key), key
    for key in (
        "commission_percent",
        "photos_amount",
        "price_index_value",
        "latitude",
        "product_id",
        "quantity",
        "total",
        "stock",
        "commission_ratio",
    ):
        assert not is_money_key(key), key
    assert is_money_key("deliveryPrice")
    got = money_as_strings(
        {"price": Decimal("1200.10"), "items": [{"old_price": 5, "stock": 3}], "ok": True}
    )
    assert got == {"price": "1200.10", "items": [{"old_price": "5", "stock": 3}], "ok": True}


async def test_money_comes_back_as_exact_strings(app: OzonMCP, mock: MockOzonServer) -> None:
    async with connect(app) as mcp:
        mock.add_fault(
            "/v2/warehouse/list",
            status=200,
            body={"warehouses": [], "cursor": "", "price": 1200.10, "latitude": 55.1},
        )
        got = await mcp.ok("call_read", operation="warehouse.list_v2", arguments={"limit": 1})
        assert got["result"]["latitude"] == 55.1
        assert got["result"]["price"] == "1200.1"  # exactly the digits Ozon sent (json.dumps)


def test_render_cuts_the_largest_list_and_says_so() -> None:
    payload = {"a": {"rows": [{"n": i, "text": "x" * 50} for i in range(500)]}, "small": [1, 2]}
    text = render(payload, 4000, "ask for less")
    assert len(text.encode()) <= 4000
    data = json.loads(text)
    assert data["small"] == [1, 2]
    cut = data["trimmed"]["cut"]
    assert cut == [{"path": "a.rows", "kept": len(data["a"]["rows"]), "of": 500}]
    assert data["a"]["rows"] == payload["a"]["rows"][: cut[0]["kept"]]
    assert data["trimmed"]["how_to_get_the_rest"] == "ask for less"
    assert len(payload["a"]["rows"]) == 500  # the input is not changed
    short = {"x": "y" * 10_000}
    text = render(short, 3000)
    assert len(text.encode()) <= 3000
    assert json.loads(text)["trimmed"]["cut"][0]["path"] == "x"
    assert render({"a": 1}, 3000) == '{"a":1}'


async def test_a_small_budget_drops_prose_before_touching_the_schema(
    mock: MockOzonServer,
) -> None:
    profile = Profile("main", "111", KEY, base_url=mock.url)
    async with (
        ozon_mcp.OzonMCP([profile], settings=Settings(budget=10500)) as app,
        connect(app) as s,
    ):
        d = await s.ok("describe_operation", operation="product.import_v3")  # about 11.5 KB
        assert len(s.texts[-1].encode()) <= 10500
        assert "arguments_example" in d["omitted_for_size"]
        assert "trimmed" not in d
        full = request_schema(OPERATIONS["POST /v3/product/import"])
        assert d["arguments_schema"] == json.loads(json.dumps(full))


def test_recursive_schemas_go_to_defs(monkeypatch: pytest.MonkeyPatch) -> None:
    from ozon_async.mcp import _catalog

    components = {
        "Node": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                "leaf": {"$ref": "#/components/schemas/Leaf", "description": "the leaf"},
            },
        },
        "Leaf": {"type": "integer", "maximum": 5},
    }
    monkeypatch.setattr(_catalog, "_component", components.__getitem__)
    out = _catalog.self_contained({"$ref": "#/components/schemas/Node"})
    assert out == {"$ref": "#/$defs/Node", "$defs": {"Node": out["$defs"]["Node"]}}
    node = out["$defs"]["Node"]
    assert node["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert node["properties"]["leaf"] == {
        "description": "the leaf",
        "allOf": [{"type": "integer", "maximum": 5}],
    }
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate({"name": "a", "children": [{"children": [], "leaf": 3}]}, out)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"children": [{"leaf": 9}]}, out)


async def test_clients_of_the_handshake_era_get_the_same_tools(
    app: OzonMCP, mock: MockOzonServer
) -> None:
    # assistants released before the 2026 protocol connect with the initialize handshake
    from mcp import Client

    async with Client(app.server, mode="legacy") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert tools["call_write"].annotations is not None
        assert tools["call_write"].annotations.destructive_hint is True
        result = await client.call_tool(
            "call_write", {"operation": "products.stocks_v2", "arguments": STOCK_ARGS}
        )
        assert json.loads(result.content[0].text)["sent"] is False  # type: ignore[union-attr]
    assert mock.requests == []


async def test_path_parameters_and_file_uploads_go_as_the_typed_call_sends_them(
    app: OzonMCP, mock: MockOzonServer
) -> None:
    import base64

    async with connect(app) as mcp:
        label = await mcp.ok(
            "call_read", operation="cargoes_label.file_v1", arguments={"file_guid": "g-7"}
        )
        assert label["result"]["binary"]["bytes"] > 0
        (sent_label,) = mock.requests_for("/v1/cargoes-label/file/{file_guid}")
        assert (sent_label.method, sent_label.raw_path) == ("GET", "/v1/cargoes-label/file/g-7")
        missing = await mcp.error("call_read", operation="cargoes_label.file_v1")
        assert missing["field"] == "file_guid" and missing["sent"] is False

        scan = b"%PDF-1.4 scan\x00\xff"
        args = {
            "files": [base64.b64encode(scan).decode()],
            "name": "Declaration 7",
            "number": "RU-7",
            "type_code": "declaration",
            "accordance_type_code": "gost",
            "issue_date": "2026-01-10T00:00:00Z",
        }
        op = "product.certificate_create_v1"
        preview = await mcp.ok("call_write", operation=op, arguments=args)
        assert preview["sent"] is False
        shown = preview["body"]["multipart"]
        assert shown["parts"][:3] == ["files", "name", "number"] and shown["bytes"] > len(scan)
        assert mock.requests_for("/v1/product/certificate/create") == []
        done = await mcp.ok("call_write", operation=op, arguments=args, confirm=True)
        assert done["sent"] is True
        (sent,) = mock.requests_for("/v1/product/certificate/create")
        assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
        assert sent.body["name"] == "Declaration 7"
        files = sent.body["files"]
        assert (files if isinstance(files, list) else [files]) == [scan]
