"""The MCP server as an assistant runs it: `python -m ozon_async.mcp` in a subprocess, over stdio."""

from __future__ import annotations

import json
import os
import socket
import stat
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from ozon_async.testing import MockOzonServer

ROOT = Path(__file__).resolve().parent.parent
KEY = "stdio-secret-key-7c2e9a41d0"
STOCK_ARGS = {"stocks": [{"offer_id": "PH-1", "stock": 7, "warehouse_id": 22142605386000}]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server(*args: str, env: dict[str, str] | None = None) -> StdioServerParameters:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OZON_")}
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "ozon_async.mcp", *args],
        env={**base, **(env or {})},
        cwd=str(ROOT),
    )


def _text(result: Any) -> str:
    text: str = result.content[0].text
    return text


async def _requests(url: str, path: str) -> list[dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/__admin/requests") as resp:
        recorded: list[dict[str, Any]] = await resp.json()
    return [r for r in recorded if r["path"] == path]


async def test_stdio_server_with_the_in_process_sandbox() -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    async with Client(_server("--sandbox", "--sandbox-port", str(port))) as client:
        names = {t.name: t.annotations for t in (await client.list_tools()).tools}
        assert set(names) == {
            "search_operations",
            "describe_operation",
            "call_read",
            "call_write",
            "fetch_all",
        }
        assert names["call_write"] is not None and names["call_write"].destructive_hint is True
        assert names["call_read"] is not None and names["call_read"].read_only_hint is True

        found = json.loads(_text(await client.call_tool("search_operations", {"query": "stock"})))
        assert "POST /v2/products/stocks" in [o["operation"] for o in found["operations"]]

        read = await client.call_tool(
            "call_read", {"operation": "warehouse.list_v2", "arguments": {"limit": 3}}
        )
        assert not read.is_error
        assert len(json.loads(_text(read))["result"]["warehouses"]) == 3

        preview = await client.call_tool(
            "call_write", {"operation": "products.stocks_v2", "arguments": STOCK_ARGS}
        )
        assert json.loads(_text(preview))["body"] == STOCK_ARGS
        assert await _requests(url, "/v2/products/stocks") == []

        sent = await client.call_tool(
            "call_write",
            {"operation": "products.stocks_v2", "arguments": STOCK_ARGS, "confirm": True},
        )
        assert json.loads(_text(sent))["sent"] is True
        recorded = await _requests(url, "/v2/products/stocks")
        assert [r["body"] for r in recorded] == [STOCK_ARGS]

        refused = await client.call_tool(
            "call_write",
            {"operation": "product.archive_v1", "arguments": {"product_id": [1]}, "confirm": True},
        )
        assert refused.is_error
        assert json.loads(_text(refused))["error"]["type"] == "not_allowed"
        assert await _requests(url, "/v1/product/archive") == []


async def test_stdio_server_with_a_profile_never_shows_the_key(tmp_path: Path) -> None:
    async with MockOzonServer() as mock:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[profiles.shop]\nclient_id = "4242"\napi_key = "{KEY}"\nbase_url = "{mock.url}"\n'
        )
        config.chmod(stat.S_IRUSR | stat.S_IWUSR)
        errlog = tmp_path / "stderr.txt"
        params = _server("--config", str(config), "--log-level", "DEBUG")
        outputs: list[str] = []
        with errlog.open("w") as err:
            # the server's stderr (its log) goes to a file the test reads afterwards
            async with Client(stdio_client(params, errlog=err)) as client:
                for tool, args in [
                    ("call_read", {"operation": "warehouse.list_v2", "arguments": {"limit": 2}}),
                    ("call_write", {"operation": "products.stocks_v2", "arguments": STOCK_ARGS}),
                    (
                        "call_write",
                        {
                            "operation": "products.stocks_v2",
                            "arguments": STOCK_ARGS,
                            "confirm": True,
                        },
                    ),
                    ("call_read", {"operation": "warehouse.list_v2", "arguments": {"limt": 2}}),
                ]:
                    outputs.append(_text(await client.call_tool(tool, args)))
        assert json.loads(outputs[0])["shop"] == "shop"
        assert json.loads(outputs[2])["sent"] is True
        assert json.loads(outputs[3])["error"]["field"] == "limt"
        assert [r.client_id for r in mock.requests_for("/v2/products/stocks")] == ["4242"]
        logs = errlog.read_text()
        assert "call_write" in logs  # the server did log at DEBUG/INFO
        for text in [*outputs, logs]:
            assert KEY not in text
