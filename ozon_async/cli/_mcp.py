"""``ozon mcp``: the MCP server's own command line, under ``ozon``."""

from __future__ import annotations

import click

__all__ = ["mcp"]


@click.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": [],
        "max_content_width": 100,
    },
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def mcp(args: tuple[str, ...]) -> None:
    """The MCP server for AI assistants (ozon mcp --help shows its options)."""
    from ozon_async.mcp import main

    raise click.exceptions.Exit(main(list(args), prog="ozon mcp"))
