"""An MCP (Model Context Protocol) server for AI assistants, over every operation of the spec.

Five tools instead of hundreds: ``search_operations``, ``describe_operation``, ``call_read``,
``call_write`` (previews unless ``confirm=true``; destructive operations need the server's
permission) and ``fetch_all``. Every call goes through :class:`ozon_async.OzonClient` (validation,
rate limits, retries, errors). Needs the optional extra: ``pip install 'ozon-async[mcp]'``.

Start it with ``python -m ozon_async.mcp`` (``--sandbox`` for a local shop), or from code::

    from ozon_async.mcp import OzonMCP

    async with OzonMCP(sandbox=True) as app:
        await app.run_stdio()

The command line is :func:`main` (``ozon mcp`` calls it too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ozon_async.mcp._cli import main

if TYPE_CHECKING:
    from ozon_async.mcp._server import OzonMCP
    from ozon_async.mcp._tools import Settings

__all__ = ["OzonMCP", "Settings", "main"]


def __getattr__(name: str) -> Any:
    # the server imports the `mcp` SDK: only when asked for
    if name == "OzonMCP":
        from ozon_async.mcp._server import OzonMCP

        return OzonMCP
    if name == "Settings":
        from ozon_async.mcp._tools import Settings

        return Settings
    raise AttributeError(f"module 'ozon_async.mcp' has no attribute {name!r}")
