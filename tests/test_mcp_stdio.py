"""The MCP server as an assistant runs it: `python -m ozon_async.mcp` in a subprocess, over stdio."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
import socket
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

# The MCP SDK (about a second to import) loads when a test first needs it, not when pytest
# collects this module in every worker.
if importlib.util.find_spec("mcp") is None:
    pytest.skip("the MCP SDK (mcp) is not installed", allow_module_level=True)

from ozon_async.testing import MockOzonServer

if TYPE_CHECKING:
    from mcp import StdioServerParameters

ROOT = Path(__file__).resolve().parent.parent
KEY = "stdio-secret-key-7c2e9a41d0"
STOCK_ARGS = {"stocks": [{"offer_id": "PH-1", "stock": 7, "warehouse_id": 22142605386000}]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server(*args: str, env: dict[str, str] | None = None) -> StdioServerParameters:
    from mcp import StdioServerParameters

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
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/__admin/requests", json={}) as resp,
    ):
        recorded: list[dict[str, Any]] = await resp.json()
    return [r for r in recorded if r["path"] == path]


async def test_stdio_server_with_the_in_process_sandbox() -> None:
    from mcp import Client

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
    from mcp import Client
    from mcp.client.stdio import stdio_client

    async with MockOzonServer(client_id="4242", api_key=KEY) as mock:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[profiles.shop]\nclient_id = "4242"\napi_key = "{KEY}"\nbase_url = "{mock.url}"\n'
            "allow_custom_base_url = true\n"
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


# ---------------------------------------------------------------------------------- README


def _readme_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## AI assistants (MCP)")
    return text[start : text.index("\n## ", start + 1)]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", _readme_section(), flags=re.S)


async def test_readme_stdio_configuration_works_as_written() -> None:
    from mcp import Client

    (stdio, _http) = [json.loads(b)["mcpServers"]["ozon"] for b in _blocks("json")]
    assert stdio["command"] == "/path/to/venv/bin/python"  # the placeholder the README explains
    params = _server(*stdio["args"][2:])
    assert stdio["args"][:2] == ["-m", "ozon_async.mcp"]
    async with Client(params) as client:
        found = await client.call_tool("search_operations", {"query": "stock"})
        assert "POST /v2/products/stocks" in _text(found)


async def test_readme_http_configuration_works_as_written() -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    (_stdio, http) = [json.loads(b)["mcpServers"]["ozon"] for b in _blocks("json")]
    shell = _blocks("sh")[-1]
    command = next(line for line in shell.splitlines() if line.startswith("python -m"))
    args = command.split("#")[0].split()[3:]
    assert args == ["--http", "--port", "8765", "--sandbox"]
    assert http["url"] == "http://127.0.0.1:8765/mcp"
    port = _free_port()  # the README's port may be taken on this machine
    args[args.index("8765")] = str(port)
    token = "readme-token-" + "x" * 20
    env = {k: v for k, v in os.environ.items() if not k.startswith("OZON_")}
    env["OZON_MCP_TOKEN"] = token
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ozon_async.mcp",
        *args,
        env=env,
        cwd=str(ROOT),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        line = b""
        while b"streamable HTTP on" not in line:
            line = await asyncio.wait_for(proc.stderr.readline(), timeout=30)
            assert line, "the server exited before serving"
        url = http["url"].replace("8765", str(port))
        headers = {
            k: v.replace("<the value of OZON_MCP_TOKEN>", token) for k, v in http["headers"].items()
        }
        for _ in range(100):  # uvicorn binds just after the line is printed
            try:
                async with aiohttp.ClientSession() as s, s.get(url) as resp:
                    assert resp.status == 401  # no token
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        async with (
            httpx2.AsyncClient(headers=headers) as http_client,
            Client(streamable_http_client(url, http_client=http_client)) as client,
        ):
            found = await client.call_tool("search_operations", {"query": "stock"})
            assert "POST /v2/products/stocks" in _text(found)
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=30)
