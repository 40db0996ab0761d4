"""``ozon perf``: the Performance (advertising) API from the command line.

``ozon perf ops`` finds operations, ``ozon perf call`` calls one (the body or query parameters as
``KEY=VALUE`` / ``KEY:=JSON`` pairs, validated like a typed call), and ``ozon perf statistics``
exports campaign statistics for any period and number of campaigns: split into exports Ozon
allows, run one at a time per account, written as one CSV of typed rows (or Ozon's own files).

Credentials: ``--client-id`` and ``--client-secret`` (better: ``OZON_PERFORMANCE_CLIENT_ID`` and
``OZON_PERFORMANCE_CLIENT_SECRET``, or a profile's ``performance_client_id`` and
``performance_client_secret``), or ``--access-token``. They are never printed.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ozon_async import _catalog
from ozon_async._catalog import dotted
from ozon_async._exceptions import ConfigurationError, OzonError, RequestValidationError
from ozon_async.cli._input import BodyError, parse_body
from ozon_async.cli._runner import (
    CONTEXT,
    EXIT_OK,
    EXIT_USAGE,
    Connection,
    Session,
    fail_plain,
    run_async,
)

if TYPE_CHECKING:
    from ozon_async._operation import Operation
    from ozon_async.performance import OzonPerformanceClient
    from ozon_async.performance.reports import ExportRun, StatisticsReport

__all__ = ["perf"]

F = TypeVar("F", bound=Callable[..., Any])

#: The columns of ``ozon perf statistics`` (the fields of a typed row), in order.
ROW_COLUMNS = (
    "campaign_id",
    "date",
    "sku",
    "title",
    "price",
    "views",
    "clicks",
    "ctr",
    "to_cart",
    "avg_cpc",
    "avg_cpm",
    "spend",
    "orders",
    "revenue",
    "model_orders",
    "model_revenue",
    "drr",
    "added",
)


# ---------------------------------------------------------------------- credentials
@dataclass(frozen=True)
class PerfConnection:
    profile: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    access_token: str | None = None
    base_url: str | None = None
    timeout: float | None = None
    max_retries: int | None = None
    verbose: bool = False

    def __repr__(self) -> str:  # no secret, even in a traceback
        return f"PerfConnection(profile={self.profile!r}, client_id={self.client_id!r})"


_FIELDS = (
    "profile",
    "client_id",
    "client_secret",
    "access_token",
    "base_url",
    "timeout",
    "max_retries",
    "verbose",
)


def perf_options(func: F) -> F:
    """The credential and client options of the ``perf`` commands (as ``conn``)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        conn = PerfConnection(**{name: kwargs.pop(name) for name in _FIELDS})
        return func(*args, conn=conn, **kwargs)

    options = [
        click.option("-p", "--profile", metavar="NAME", help="Profile from the config file."),
        click.option(
            "--client-id",
            metavar="ID",
            help="Service account client id (default: $OZON_PERFORMANCE_CLIENT_ID).",
        ),
        click.option(
            "--client-secret",
            metavar="SECRET",
            help="Its secret (default: $OZON_PERFORMANCE_CLIENT_SECRET). Prefer the environment "
            "or a profile: other users can see command lines.",
        ),
        click.option(
            "--access-token",
            metavar="TOKEN",
            help="An OAuth token instead (default: $OZON_PERFORMANCE_ACCESS_TOKEN).",
        ),
        click.option(
            "--base-url",
            metavar="URL",
            help="Where to send requests, e.g. the sandbox's (default: "
            "$OZON_PERFORMANCE_BASE_URL, else Ozon's API).",
        ),
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS"),
        click.option("--max-retries", type=click.IntRange(min=0), metavar="N"),
        click.option("-v", "--verbose", is_flag=True, help="Log each request on stderr."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


class PerfSession(Session):
    """A :class:`Session` whose client is an :class:`OzonPerformanceClient`."""

    perf: PerfConnection

    @classmethod
    def open_perf(cls, conn: PerfConnection) -> PerfSession:
        from ozon_async.profiles import resolve_profile

        secrets = [conn.client_secret, conn.access_token]
        try:
            profile = resolve_profile(conn.profile)
        except ConfigurationError as exc:
            fail_plain(f"ozon: {exc}", secrets)
        session = cls(Connection(profile=conn.profile, verbose=conn.verbose), profile)
        session.perf = conn
        session.secrets += [
            s
            for s in (
                conn.client_secret,
                conn.access_token,
                profile.performance_client_secret,
                profile.performance_access_token,
            )
            if s
        ]
        session.setup_logging()
        return session

    def perf_client(self) -> OzonPerformanceClient:
        from dataclasses import replace

        from ozon_async.performance import OzonPerformanceClient
        from ozon_async.profiles import performance_client

        conn, p = self.perf, self.profile
        if conn.access_token:  # the flags replace the profile's credentials
            p = replace(
                p,
                performance_access_token=conn.access_token,
                performance_client_id=conn.client_id or None,
                performance_client_secret=None,
            )
        elif conn.client_secret:
            p = replace(
                p,
                performance_access_token=None,
                performance_client_secret=conn.client_secret,
                performance_client_id=conn.client_id or p.performance_client_id,
            )
        elif conn.client_id:
            p = replace(p, performance_client_id=conn.client_id)
        if conn.base_url:
            p = replace(p, performance_base_url=conn.base_url)
        options: dict[str, Any] = {}
        if conn.timeout is not None:
            options["timeout"] = conn.timeout
        if conn.max_retries is not None:
            options["max_retries"] = conn.max_retries
        try:
            client = performance_client(p, client_class=OzonPerformanceClient, **options)
        except ConfigurationError as exc:
            self.fail(
                EXIT_USAGE,
                f"ozon: {exc}\n  pass --client-id and --client-secret, set "
                "OZON_PERFORMANCE_CLIENT_ID and OZON_PERFORMANCE_CLIENT_SECRET, or use a "
                "profile with performance_client_id and performance_client_secret",
            )
        self.log(f"Performance API: client id {client.client_id or '-'}, {client.base_url}")
        return client


# ---------------------------------------------------------------------- the catalogue
_PERF = (_catalog.PERFORMANCE,)


def find_operation(text: str) -> Operation:
    """By ``group.name``, ``"METHOD /path"``, a path with one method, or the operationId (the
    catalogue's :func:`~ozon_async._catalog.find`)."""
    try:
        return _catalog.find(text, _PERF)
    except _catalog.OperationNotFound as exc:
        names = [s.removeprefix(_catalog.PERF_PREFIX) for s in exc.suggestions]
        hint = f"; did you mean {', '.join(names)}?" if names else ""
        raise click.BadParameter(
            f"unknown operation {text!r}{hint} (search with: ozon perf ops TEXT)",
            param_hint="OPERATION",
        ) from None


def search(text: str) -> list[Operation]:
    """The Performance API operations matching every word of ``text``, by group and name."""
    found = _catalog.search(text, _PERF, include_removed=True)
    return sorted(found, key=lambda o: (o.group, o.name))


def docstring(op: Operation) -> str:
    module = importlib.import_module(f"ozon_async.performance.resources.{op.group}")
    for value in vars(module).values():
        if inspect.isclass(value) and value.__module__ == module.__name__:
            method = inspect.getattr_static(value, op.name, None)
            doc = getattr(method, "__doc__", None)
            if isinstance(doc, str):
                return inspect.cleandoc(doc)
    return op.summary


kind = _catalog.safety


# ---------------------------------------------------------------------- commands
@click.group(context_settings=CONTEXT)
def perf() -> None:
    """The Ozon Performance API (advertising): campaigns, bids, statistics.

    \b
    ozon perf ops                              every operation
    ozon perf ops statistics                   search
    ozon perf ops campaign.list                its documentation
    ozon perf call campaign.list state=CAMPAIGN_STATE_RUNNING
    ozon perf call product.update campaign_id:=123 'bids:=[{"sku": 1, "bid": 30000000}]'
    ozon perf statistics --campaigns 123,456 --from 2026-01-01 --to 2026-03-31 --out stats.csv

    Credentials: OZON_PERFORMANCE_CLIENT_ID and OZON_PERFORMANCE_CLIENT_SECRET (or
    --client-id/--client-secret, --access-token, or a profile's performance_* keys).
    """


@perf.command(context_settings=CONTEXT)
@click.argument("text", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the matches as JSON.")
def ops(text: tuple[str, ...], as_json: bool) -> None:
    """Search the operations by name, path or summary; with an exact name, show its
    documentation."""
    query = " ".join(text)
    if query and not as_json:
        try:
            op = find_operation(query)
        except click.BadParameter:
            pass
        else:
            click.echo(f"{dotted(op)}    {op.key}    {kind(op)}\n\n{docstring(op)}")
            return
    found = search(query)
    if as_json:
        rows = [
            {
                "name": dotted(o),
                "method": o.method,
                "path": o.path,
                "summary": o.summary,
                "kind": kind(o),
            }
            for o in found
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo(f"ozon: no operation matches {query!r}", err=True)
        raise click.exceptions.Exit(1)
    for o in found:
        click.echo(f"{dotted(o)}\t{o.key}\t{kind(o)}\t{o.summary}")


@perf.command(context_settings=CONTEXT)
@click.argument("operation")
@click.argument("pairs", nargs=-1, metavar="[KEY=VALUE | KEY:=JSON]...")
@click.option("--json", "json_body", metavar="JSON|@FILE|-", help="The request body as JSON.")
@click.option(
    "-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the answer to FILE."
)
@click.option("--pretty/--compact", default=None, help="Indented JSON or one line.")
@click.option("--dry-run", is_flag=True, help="Validate and show the request; send nothing.")
@perf_options
def call(
    operation: str,
    pairs: tuple[str, ...],
    json_body: str | None,
    out: Path | None,
    pretty: bool | None,
    dry_run: bool,
    conn: PerfConnection,
) -> None:
    """Call OPERATION (group.name, "METHOD /path" or a path) and print the answer.

    \b
    ozon perf call campaign.list state=CAMPAIGN_STATE_RUNNING page_size:=50
    ozon perf call statistics.status UUID=0c159c60-ab92-46d9-9a6b-d225dbf5c7b1
    ozon perf call statistics.daily 'campaignIds:=[123]' dateFrom=2026-03-01 --out daily.csv

    Path and query parameters and body fields are given by their JSON names (campaignId,
    dateFrom) as KEY=VALUE or KEY:=JSON; they are validated like a typed call's before
    anything is sent (exit code 2 naming the field).
    """
    from ozon_async.cli._call import call_once, prepare_body, print_json

    op = find_operation(operation)
    if op.group == "token":
        raise click.BadParameter(
            "the token call is made by the client itself from the credentials",
            param_hint="OPERATION",
        )
    session = PerfSession.open_perf(conn)
    try:
        body = parse_body(json_body, pairs, sys.stdin)
    except BodyError as exc:
        session.fail(EXIT_USAGE, f"ozon: {exc}\n  nothing was sent")
    try:
        prepared = prepare_body(op, body)
    except RequestValidationError as exc:
        session.exit(session.report(exc))
    if dry_run:
        session.say(f"ozon: dry run: {op.method} {prepared.path} would be sent; nothing was sent")
        if prepared.body:
            print_json(prepared.body, pretty=True if pretty is None else pretty)
        session.exit(EXIT_OK)
    client = session.perf_client()

    async def work() -> int:
        async with client:
            return await call_once(session, client, op, prepared, out=out, pretty=pretty)

    session.exit(run_async(work))


def _campaign_ids(text: str) -> list[int]:
    ids = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise click.BadParameter(f"{part!r} is not a campaign id", param_hint="--campaigns")
        ids.append(int(part))
    return ids


@perf.command(context_settings=CONTEXT)
@click.option(
    "--campaigns",
    "campaign_list",
    metavar="ID,ID,...",
    help="The campaigns (comma-separated; any number).",
)
@click.option(
    "--all-campaigns",
    is_flag=True,
    help="Every campaign of the account (or of --state).",
)
@click.option("--state", metavar="STATE", help="With --all-campaigns: only this state.")
@click.option(
    "--from", "date_from", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day."
)
@click.option("--to", "date_to", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day.")
@click.option(
    "--group-by",
    type=click.Choice(["DATE", "START_OF_WEEK", "START_OF_MONTH", "NO_GROUP_BY"]),
    default="DATE",
    show_default=True,
)
@click.option(
    "-f", "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the rows to FILE (default: stdout).",
)
@click.option(
    "--raw-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also save Ozon's CSV files here, one per campaign and export.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="First pause between status checks of an export (default 5; it grows by half).",
)
@click.option("--dry-run", is_flag=True, help="Print the exports it would run; send nothing.")
@perf_options
def statistics(
    campaign_list: str | None,
    all_campaigns: bool,
    state: str | None,
    date_from: Any,
    date_to: Any,
    group_by: str,
    fmt: str,
    out: Path | None,
    raw_dir: Path | None,
    interval: float | None,
    dry_run: bool,
    conn: PerfConnection,
) -> None:
    """Export campaign statistics for a period: split into exports Ozon allows (at most 10
    campaigns and 62 days each), run one at a time per account, downloaded and written as one
    table of rows (campaign_id, date, sku, views, clicks, spend, orders, revenue...).

    \b
    ozon perf statistics --campaigns 123,456 --from 2026-01-01 --to 2026-03-31 --out stats.csv
    ozon perf statistics --all-campaigns --state CAMPAIGN_STATE_RUNNING \\
        --from 2026-01-01 --to 2026-06-30 --format jsonl > stats.jsonl
    """
    if bool(campaign_list) == all_campaigns:
        raise click.UsageError("give --campaigns ID,ID,... or --all-campaigns")
    first: date = date_from.date()
    last: date = date_to.date()
    ids = _campaign_ids(campaign_list) if campaign_list else []
    session = PerfSession.open_perf(conn)
    client = session.perf_client()
    if dry_run and ids:
        _print_plan(client.reports.plan(ids, first, last))
        session.exit(EXIT_OK)

    async def work() -> int:
        async with client:
            wanted = ids
            try:
                if all_campaigns:
                    wanted = await _campaigns_in(client, state)
                    session.log(f"{len(wanted)} campaigns")
                    if not wanted:
                        session.say("ozon: no campaigns")
                        return EXIT_OK
                plan = client.reports.plan(wanted, first, last)
                if dry_run:
                    _print_plan(plan)
                    return EXIT_OK
                done = 0

                def progress(run: ExportRun) -> None:
                    nonlocal done
                    done += 1
                    session.say(
                        f"ozon: export {done}/{len(plan)}: {len(run.campaigns)} campaigns, "
                        f"{run.date_from} to {run.date_to}: done in {run.seconds:.1f} s"
                    )

                report = await client.reports.statistics(
                    wanted, first, last, group_by=group_by, interval=interval, on_export=progress
                )
            except OzonError as exc:
                return session.report(exc)
            _write_rows(report, fmt, out)
            if raw_dir is not None:
                _save_raw(report, raw_dir)
            where = f" to {out}" if out is not None else ""
            session.say(
                f"ozon: {len(report.rows)} rows of {len(wanted)} campaigns from "
                f"{len(report.exports)} exports{where}"
            )
            return EXIT_OK

    session.exit(run_async(work))


def _print_plan(plan: Sequence[Any]) -> None:
    """The exports a statistics run makes (``--dry-run``)."""
    for i, chunk in enumerate(plan, 1):
        click.echo(
            f"export {i}: {len(chunk.campaigns)} campaigns, "
            f"{chunk.date_from} to {chunk.date_to} ({chunk.days} days)"
        )


async def _campaigns_in(client: Any, state: str | None) -> list[int]:
    """The ids of the account's campaigns (of ``state``, when given)."""
    return [
        c.id
        async for c in client.campaign.list.iter(state=cast(Any, state), page_size=100)
        if c.id is not None
    ]


def _save_raw(report: StatisticsReport, raw_dir: Path) -> None:
    """Ozon's CSV files of a report, one per campaign and export (``--raw-dir``)."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    for f in report.files:
        stem = f.name.rsplit(".", 1)[0]
        (raw_dir / f"{stem}_{f.uuid}.csv").write_text(f.text, encoding="utf-8")


def _write_rows(report: StatisticsReport, fmt: str, out: Path | None) -> None:
    import csv

    extra = sorted({k for row in report.rows for k in row.extra})
    stream: Any = out.open("w", newline="", encoding="utf-8") if out is not None else sys.stdout
    try:
        if fmt == "csv":
            writer = csv.writer(stream)
            writer.writerow([*ROW_COLUMNS, *extra])
            for row in report.rows:
                values = [getattr(row, c) for c in ROW_COLUMNS]
                writer.writerow(
                    ["" if v is None else v for v in values] + [row.extra.get(k, "") for k in extra]
                )
        else:
            import msgspec

            for row in report.rows:
                stream.write(msgspec.json.encode(row).decode() + "\n")
    finally:
        if out is not None:
            stream.close()
