"""``python -m ozon_async.mcp`` / ``ozon mcp``: command-line entry of the MCP server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ozon_async import _catalog
from ozon_async._exceptions import ConfigurationError
from ozon_async._listen import OneLineParser
from ozon_async.mcp._http import (
    MIN_TOKEN_LENGTH,
    allowed_hosts_for,
    check_token,
    normalize_origin,
)
from ozon_async.mcp._render import DEFAULT_BUDGET, MIN_BUDGET
from ozon_async.mcp._tools import MAX_ITEMS_CAP, Settings
from ozon_async.profiles import Profile, load_profiles, resolve_profile

DEFAULT_TOKEN_ENV = "OZON_MCP_TOKEN"

_DESCRIPTION = """\
MCP server of the Ozon Seller API for AI assistants (Claude, Cursor, Codex...). Tools:
search_operations, describe_operation, call_read, call_write (previews unless confirm=true),
fetch_all. Shops come from the profiles of the config file (see `ozon_async.profiles`), else
from OZON_CLIENT_ID / OZON_API_KEY. Serves stdio by default; --http serves streamable HTTP and
requires a bearer token read from an environment variable. Tool arguments must be UTF-8 text
nested at most 200 levels deep."""


def parser(prog: str = "python -m ozon_async.mcp") -> argparse.ArgumentParser:
    ap = OneLineParser(prog=prog, description=_DESCRIPTION)
    shops = ap.add_argument_group("shops")
    shops.add_argument(
        "--sandbox",
        action="store_true",
        help="start the local sandbox in this process and point every tool at it",
    )
    shops.add_argument(
        "--sandbox-port", type=int, default=0, metavar="P", help="sandbox port (default: free)"
    )
    shops.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NAME",
        help="serve this profile (repeatable; default: every profile of the config file)",
    )
    shops.add_argument("--config", type=Path, metavar="PATH", help="the config file")
    shops.add_argument("--default-shop", metavar="NAME", help="shop used when a call names none")
    safety = ap.add_argument_group("safety and answers")
    safety.add_argument(
        "--allow-destructive",
        action="store_true",
        help="send destructive operations (delete, archive, cancel, refund...) when confirmed",
    )
    safety.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="OPERATION",
        help="allow one destructive operation (repeatable), e.g. --allow product.archive_v1",
    )
    safety.add_argument(
        "--budget",
        type=int,
        default=int(os.environ.get("OZON_MCP_BUDGET", DEFAULT_BUDGET)),
        metavar="BYTES",
        help=f"largest answer in bytes; longer ones are trimmed (default {DEFAULT_BUDGET})",
    )
    safety.add_argument(
        "--max-items",
        type=int,
        default=MAX_ITEMS_CAP,
        metavar="N",
        help=f"largest max_items fetch_all accepts (default {MAX_ITEMS_CAP})",
    )
    http = ap.add_argument_group("streamable HTTP (instead of stdio)")
    http.add_argument("--http", action="store_true", help="serve streamable HTTP")
    http.add_argument("--host", default="127.0.0.1")
    http.add_argument("--port", type=int, default=8765)
    http.add_argument("--path", default="/mcp", help="endpoint path (default /mcp)")
    http.add_argument(
        "--token-env",
        default=DEFAULT_TOKEN_ENV,
        metavar="NAME",
        help=f"environment variable holding the bearer token, at least {MIN_TOKEN_LENGTH} "
        f"characters (default {DEFAULT_TOKEN_ENV})",
    )
    http.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="also accept requests whose Host header names HOST (repeatable); by default only "
        "the loopback names and the --host address are accepted (421 otherwise), whatever "
        "--host is, e.g. --host 0.0.0.0 --allow-host 192.168.1.20",
    )
    http.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also accept browser requests from ORIGIN, scheme://host[:port] (repeatable); "
        "an Origin whose host is accepted is accepted, others get 403",
    )
    ap.add_argument("--log-level", default="WARNING", help="log level on stderr (default WARNING)")
    return ap


def _settings(args: argparse.Namespace) -> Settings:
    if args.budget < MIN_BUDGET:
        raise ConfigurationError(f"--budget must be at least {MIN_BUDGET}")
    if not 1 <= args.max_items <= 1_000_000:
        raise ConfigurationError("--max-items must be 1 to 1000000")
    allow: set[str] = set()
    for name in args.allow:
        try:
            op = _catalog.find(name)
        except _catalog.OperationNotFound as exc:
            raise ConfigurationError(f"--allow: {exc}") from None
        if not op.destructive:
            raise ConfigurationError(
                f"--allow {name}: {op.key} is not destructive; call_write sends it when confirmed"
            )
        allow.add(op.key)
    return Settings(
        budget=args.budget,
        allow_destructive=args.allow_destructive,
        allow=frozenset(allow),
        max_items_cap=args.max_items,
    )


def _profiles(args: argparse.Namespace) -> tuple[list[Profile], str | None]:
    if args.sandbox:
        return [], None
    path = args.config
    if path is not None and not path.is_file():
        raise ConfigurationError(f"--config {path}: no such file")
    available = load_profiles(path)
    if args.profile:
        missing = [n for n in args.profile if n not in available]
        if missing:
            raise ConfigurationError(
                f"no profile {missing[0]!r} in the config file "
                f"(known: {', '.join(sorted(available)) or 'none'})"
            )
        chosen = [available[n] for n in args.profile]
    elif available:
        chosen = list(available.values())
    else:
        env = resolve_profile(path=path)  # OZON_CLIENT_ID / OZON_API_KEY
        if not (env.api_key or env.access_token or env.has_performance_credentials):
            raise ConfigurationError(
                "no shop configured: add a profile to the config file, set OZON_CLIENT_ID and "
                "OZON_API_KEY, or start with --sandbox to try the tools on a local shop"
            )
        chosen = [env]
    default = args.default_shop
    if default is None and len(chosen) > 1:
        file_default = resolve_profile(path=path).name
        if any(p.name == file_default for p in chosen):
            default = file_default
    return list(chosen), default


def _http_settings(args: argparse.Namespace) -> tuple[str, frozenset[str]]:
    """The bearer token and the accepted hosts, checked before anything starts."""
    if not args.http:
        if args.allow_host or args.allow_origin:
            raise ConfigurationError("--allow-host and --allow-origin need --http")
        return "", frozenset()
    token = check_token(
        os.environ.get(args.token_env, ""), f"the environment variable {args.token_env}"
    )
    hosts = allowed_hosts_for(args.host, args.allow_host)
    for origin in args.allow_origin:
        normalize_origin(origin)
    return token, hosts


async def _serve(args: argparse.Namespace, settings: Settings, token: str) -> None:
    from ozon_async.mcp._server import OzonMCP

    profiles, default = _profiles(args)
    app = OzonMCP(
        profiles,
        default_shop=default,
        settings=settings,
        sandbox=args.sandbox,
        sandbox_port=args.sandbox_port,
    )
    async with app:
        if app.sandbox_server is not None:
            print(
                f"ozon_async.mcp: sandbox at {app.sandbox_server.url}", file=sys.stderr, flush=True
            )
        if args.http:
            print(
                f"ozon_async.mcp: streamable HTTP on http://{args.host}:{args.port}{args.path}",
                file=sys.stderr,
                flush=True,
            )
            await app.run_http(
                token,
                host=args.host,
                port=args.port,
                path=args.path,
                allowed_hosts=args.allow_host,
                allowed_origins=args.allow_origin,
            )
        else:
            await app.run_stdio()


def _check_port(host: str, port: int) -> None:
    """Fail with one line, before anything starts, when the HTTP port cannot be listened on."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConfigurationError(f"--host {host}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            from ozon_async._listen import listen_error

            raise ConfigurationError(listen_error(exc, host, port)) from None


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m ozon_async.mcp") -> int:
    """Run the MCP server until its client disconnects (stdio) or it is interrupted (HTTP).

    Returns the exit code: 0, or 2 for a usage or configuration error (told on stderr)."""
    ap = parser(prog)
    args = ap.parse_args(list(argv) if argv is not None else None)
    if not isinstance(logging.getLevelName(args.log_level.upper()), int):
        ap.error(f"--log-level {args.log_level!r}: use DEBUG, INFO, WARNING, ERROR or CRITICAL")
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(name)s: %(message)s"
    )
    try:
        import mcp  # noqa: F401
    except ImportError:
        print(
            "the MCP server needs the mcp package: pip install 'ozon-async[mcp]'", file=sys.stderr
        )
        return 2
    try:
        settings = _settings(args)
        token, hosts = _http_settings(args)
        if args.http:
            _check_port(args.host, args.port)
            print(
                "ozon_async.mcp: accepting Host " + ", ".join(sorted(hosts)) + " and their "
                "origins" + "".join(f", {o}" for o in args.allow_origin),
                file=sys.stderr,
                flush=True,
            )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args, settings, token))
    except ConfigurationError as exc:
        print(f"ozon_async.mcp: {exc}", file=sys.stderr)
        return 2
    return 0
