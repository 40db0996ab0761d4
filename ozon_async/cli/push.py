"""``ozon push``: receive Ozon's push notifications (``serve``), and connect a URL to receive them
(``subscribe``, ``list``, ``unsubscribe``, through the ``/v1/notification/*`` operations).

``serve`` is ``python -m ozon_async.push`` (the same options; it needs no credentials).
"""

from __future__ import annotations

import json
from typing import Any, cast

import click

from ozon_async.cli._runner import (
    CONTEXT,
    EXIT_API,
    EXIT_OK,
    EXIT_USAGE,
    Connection,
    Session,
    connection_options,
    run_async,
)

__all__ = ["push"]


@click.group(context_settings=CONTEXT)
def push() -> None:
    """Ozon push notifications: run a receiver, connect a URL.

    \b
    ozon push serve --port 8080 --store push.sqlite3 --jsonl events.jsonl
    ozon push subscribe https://example.com/ozon --types TYPE_NEW_POSTING,TYPE_STATE_CHANGED
    ozon push list
    ozon push unsubscribe https://example.com/ozon
    """


@push.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": [],
        "max_content_width": 100,
    },
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(args: tuple[str, ...]) -> None:
    """Run a receiver (the options of `python -m ozon_async.push`; see --help)."""
    from ozon_async.push.__main__ import main

    raise click.exceptions.Exit(main(list(args), prog="ozon push serve"))


def _types(values: tuple[str, ...]) -> list[str]:
    """``--types A,B --types C``: the documented types, in the order given, each once."""
    from ozon_async.push._events import EVENT_TYPES

    out: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip().upper()
            if not name:
                continue
            if name == "TYPE_PING":
                raise click.BadParameter(
                    "TYPE_PING is always sent; do not list it", param_hint="--types"
                )
            if name not in EVENT_TYPES:
                known = ", ".join(t for t in EVENT_TYPES if t != "TYPE_PING")
                raise click.BadParameter(
                    f"unknown type {name}; known: {known}", param_hint="--types"
                )
            if name not in out:
                out.append(name)
    if not out:
        raise click.BadParameter("give at least one type", param_hint="--types")
    return out


@push.command(context_settings=CONTEXT)
@click.argument("url")
@click.option(
    "--types",
    "types_",
    multiple=True,
    required=True,
    metavar="TYPE[,TYPE...]",
    help="Notification types to receive (repeatable or comma-separated).",
)
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="Have Ozon check the URL first (/v1/notification/check) and stop if it fails.",
)
@connection_options
def subscribe(conn: Connection, url: str, types_: tuple[str, ...], check: bool) -> None:
    """Connect URL to receive the given notification types (or change the types of a URL that is
    connected already)."""
    types = _types(types_)
    if not url.startswith(("https://", "http://")):
        raise click.BadParameter("the URL must start with https:// (or http://)", param_hint="URL")
    session = Session.open(conn)

    async def work() -> int:
        try:
            # the types the spec lets a subscription name, checked before anything is sent
            from ozon_async._client import OPERATIONS
            from ozon_async._codec import build_request

            op = OPERATIONS["POST /v1/notification/set"]
            build_request(op, op.request_type, {"url": url, "types": types})
            async with session.client() as client:
                if check:
                    result = await client.notification.check_v1(url=url)
                    if not result.is_active:
                        problems = "; ".join(
                            f"{e.type}: {e.description}" if e.description else str(e.type)
                            for e in result.errors or []
                        )
                        session.say(f"ozon: Ozon's check of {url} failed: {problems or 'inactive'}")
                        return EXIT_API
                connected = await client.notification.list_v1()
                existing = next(
                    (u for u in connected.urls or [] if u.url == url and u.id is not None), None
                )
                if existing is not None and existing.id is not None:
                    await client.notification.update_v1(id=existing.id, types=cast(Any, types))
                    click.echo(f"updated {url} (id {existing.id}): {', '.join(types)}")
                else:
                    await client.notification.set_v1(url=url, types=cast(Any, types))
                    click.echo(f"connected {url}: {', '.join(types)}")
        except Exception as exc:
            return session.report(exc)
        return EXIT_OK

    session.exit(run_async(work))


@push.command(name="list", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@connection_options
def list_(conn: Connection, as_json: bool) -> None:
    """The URLs connected for push notifications, with their types."""
    session = Session.open(conn)

    async def work() -> int:
        try:
            async with session.client() as client:
                answer = await client.notification.list_v1()
        except Exception as exc:
            return session.report(exc)
        if as_json:
            import msgspec

            click.echo(json.dumps(msgspec.to_builtins(answer), ensure_ascii=False, indent=1))
            return EXIT_OK
        for u in answer.urls or []:
            kinds = ",".join(str(t.type) for t in u.types or [])
            state = "on" if u.enable else "off"
            click.echo(f"{u.id}\t{u.url}\t{state}\t{kinds}")
        return EXIT_OK

    session.exit(run_async(work))


@push.command(context_settings=CONTEXT)
@click.argument("target", metavar="URL|ID")
@connection_options
def unsubscribe(conn: Connection, target: str) -> None:
    """Disconnect a URL (given as the URL or its id from `ozon push list`)."""
    session = Session.open(conn)

    async def work() -> int:
        try:
            async with session.client() as client:
                connected = await client.notification.list_v1()
                found = next(
                    (
                        u
                        for u in connected.urls or []
                        if u.id is not None and target in (u.url, str(u.id))
                    ),
                    None,
                )
                if found is None or found.id is None:
                    session.say(f"ozon: {target} is not connected (see `ozon push list`)")
                    return EXIT_USAGE
                await client.notification.delete_v1(id=found.id)
                click.echo(f"disconnected {found.url} (id {found.id})")
        except Exception as exc:
            return session.report(exc)
        return EXIT_OK

    session.exit(run_async(work))
