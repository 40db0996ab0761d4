"""`python -m ozon_async.mcp` options, shops from the config file, and the HTTP transport's
bearer token."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import stat
from pathlib import Path
from typing import Any

import aiohttp
import pytest

# The MCP SDK (about a second to import) loads when a test first needs it, not when pytest
# collects this module in every worker.
if importlib.util.find_spec("mcp") is None:
    pytest.skip("the MCP SDK (mcp) is not installed", allow_module_level=True)

from ozon_async.mcp import main
from ozon_async.mcp._cli import _profiles, parser

KEY = "cli-secret-key-3b8f0d62aa"
TOKEN = "http-bearer-token-0123456789abcdef"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("OZON_CLIENT_ID", "OZON_API_KEY", "OZON_ACCESS_TOKEN", "OZON_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("OZON_MCP_TOKEN", raising=False)
    monkeypatch.setenv("OZON_ASYNC_CONFIG", str(tmp_path / "absent.toml"))


def _config(tmp_path: Path, text: str, mode: int = stat.S_IRUSR | stat.S_IWUSR) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


TWO_SHOPS = f"""
default_profile = "b"

[profiles.a]
client_id = "1"
api_key = "{KEY}"

[profiles.b]
client_id = "2"
api_key = "{KEY}-2"
"""


def test_http_without_a_token_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sandbox", "--http", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "OZON_MCP_TOKEN" in err and "bearer token" in err
    assert main(["--sandbox", "--http", "--token-env", "MY_TOKEN"]) == 2
    assert "MY_TOKEN" in capsys.readouterr().err


def test_allow_names_a_destructive_operation(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sandbox", "--allow", "product.archiv_v1"]) == 2
    assert "product.archive_v1" in capsys.readouterr().err  # suggested
    assert main(["--sandbox", "--allow", "products.stocks_v2"]) == 2
    assert "not destructive" in capsys.readouterr().err
    assert main(["--sandbox", "--budget", "10"]) == 2


def test_no_shop_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "--sandbox" in err and "OZON_API_KEY" in err


def test_profiles_from_the_config_file(tmp_path: Path) -> None:
    path = _config(tmp_path, TWO_SHOPS)
    shops, default = _profiles(parser().parse_args(["--config", str(path)]))
    assert [p.name for p in shops] == ["a", "b"]
    assert default == "b"
    assert KEY not in repr(shops)
    shops, default = _profiles(parser().parse_args(["--config", str(path), "--profile", "a"]))
    assert [p.name for p in shops] == ["a"]
    assert default is None


def test_environment_credentials_without_a_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OZON_CLIENT_ID", "77")
    monkeypatch.setenv("OZON_API_KEY", KEY)
    shops, _ = _profiles(parser().parse_args([]))
    assert [(p.name, p.client_id) for p in shops] == [("<environment>", "77")]


def test_a_readable_config_file_with_keys_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config(tmp_path, TWO_SHOPS, mode=0o644)
    assert main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "chmod 600" in err
    assert KEY not in err
    assert main(["--config", str(_config(tmp_path, TWO_SHOPS)), "--profile", "c"]) == 2
    assert "no profile 'c'" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_streamable_http_needs_the_bearer_token() -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    from ozon_async.mcp import OzonMCP

    port = _free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    async with OzonMCP(sandbox=True) as app:
        server: Any = app.http_server(TOKEN, port=port)
        task = asyncio.create_task(server.serve())
        try:
            for _ in range(200):
                if server.started:
                    break
                await asyncio.sleep(0.02)
            assert server.started
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
            async with aiohttp.ClientSession() as http:
                for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}):
                    async with http.post(url, json=body, headers=headers) as resp:
                        assert resp.status == 401
                        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            auth = {"Authorization": f"Bearer {TOKEN}"}
            async with (
                httpx2.AsyncClient(headers=auth) as http_client,
                Client(streamable_http_client(url, http_client=http_client)) as client,
            ):
                tools = {t.name for t in (await client.list_tools()).tools}
                assert "call_write" in tools
                read = await client.call_tool(
                    "call_read", {"operation": "warehouse.list_v2", "arguments": {"limit": 1}}
                )
                assert not read.is_error
                assert '"shop":"sandbox"' in read.content[0].text  # type: ignore[union-attr]
            assert len(app.sandbox_server.requests_for("/v2/warehouse/list")) == 1
        finally:
            server.should_exit = True
            await task


def test_main_is_importable_without_starting_anything() -> None:
    import ozon_async.mcp as pkg

    assert pkg.main is main
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
