"""``ozon report``: reports created, waited for and downloaded.

``report postings`` creates a postings report, waits for it (a spinner on a terminal) and
downloads the file through :meth:`OzonClient.download` (no credentials to the file's host).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ozon_async._client import OPERATIONS
from ozon_async._exceptions import OzonError, RequestValidationError
from ozon_async.cli._output import terminal_bytes
from ozon_async.cli._progress import Spinner, wants_progress
from ozon_async.cli._rows import plural
from ozon_async.cli._runner import (
    CONTEXT,
    EXIT_API,
    EXIT_OK,
    Connection,
    Session,
    connection_options,
    run_async,
)

if TYPE_CHECKING:
    from ozon_async._client import OzonClient

__all__ = ["report"]

POSTINGS_REPORT = "POST /v1/report/postings/create"


def _moment(value: str, option: str, *, end_of_day: bool) -> datetime:
    """A date (``2026-01-31``: the start of that day in UTC, or its end for ``--to``) or an
    ISO 8601 time (``2026-01-31T12:00:00+03:00``; without an offset: UTC)."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            at = time(23, 59, 59) if end_of_day else time(0, 0)
            return datetime.combine(day, at, timezone.utc)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (2026-01-31) or an ISO 8601 time", param_hint=option
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


@click.group(context_settings=CONTEXT)
def report() -> None:
    """Reports: created, waited for and downloaded."""


@report.command(context_settings=CONTEXT)
@click.option("--since", required=True, metavar="DATE", help="From this date or time (UTC).")
@click.option(
    "--to", "until", required=True, metavar="DATE", help="Up to this date (inclusive) or time."
)
@click.option(
    "-o",
    "--out",
    required=True,
    metavar="FILE",
    help="Where to write the report (CSV as Ozon makes it: ';'-separated, UTF-8); - for stdout.",
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    metavar="ALIAS",
    help="Only postings in this status (repeatable), e.g. delivered.",
)
@click.option(
    "--schema",
    "delivery_schema",
    metavar="SCHEMA",
    help="Only this delivery schema (fbs, fbo, crossborder, ...).",
)
@click.option("--language", metavar="LANG", help="Language of the report (DEFAULT, RU, EN...).")
@click.option(
    "--max-wait",
    "max_wait",
    type=click.FloatRange(min=0, min_open=True),
    default=1800.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for Ozon to make the report.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    help="First pause between status checks (default: 5, as Ozon suggests); it grows by half "
    "after each check.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="A spinner on stderr while waiting (default: when stderr is a terminal).",
)
@connection_options
def postings(
    since: str,
    until: str,
    out: str,
    statuses: Sequence[str],
    delivery_schema: str | None,
    language: str | None,
    max_wait: float,
    interval: float | None,
    progress: bool | None,
    conn: Connection,
) -> None:
    """Create a postings report for a period, wait until Ozon has made it, and download it.

    \b
    ozon report postings --since 2026-01-01 --to 2026-01-31 --out postings.csv
    ozon report postings --since 2026-01-01T00:00:00+03:00 --to 2026-01-08 --status delivered -o -
    """
    start = _moment(since, "--since", end_of_day=False)
    end = _moment(until, "--to", end_of_day=True)
    if end < start:
        raise click.BadParameter("must not be before --since", param_hint="--to")
    session = Session.open(conn)
    op = OPERATIONS[POSTINGS_REPORT]
    flt: dict[str, Any] = {"processed_at_from": start, "processed_at_to": end}
    if statuses:
        flt["status_alias"] = list(statuses)
    if delivery_schema:
        flt["delivery_schema"] = [delivery_schema]
    body: dict[str, Any] = {"filter": flt}
    if language:
        body["language"] = language
    from ozon_async.cli._call import prepare_body

    try:
        prepare_body(op, body)  # the typed call's checks, before a client exists
    except RequestValidationError as exc:
        session.exit(session.report(exc))
    client = session.client()
    spinner = wants_progress(progress)

    async def work() -> int:
        async with client:
            return await _report_postings(session, client, body, out, max_wait, interval, spinner)

    session.exit(run_async(work))


async def _report_postings(
    session: Session,
    client: OzonClient,
    body: dict[str, Any],
    out: str,
    timeout: float,
    interval: float | None,
    spinner: bool,
) -> int:
    from rich.markup import escape

    from ozon_async._tasks import TaskError, TaskTimeoutError
    from ozon_async._terminal import escape_controls

    method = client.report.postings_create_v1
    with Spinner("creating the postings report", enabled=spinner) as status:

        def checked(answer: Any) -> None:
            state = getattr(getattr(answer, "result", None), "status", None) or "?"
            shown = escape(escape_controls(str(state)))  # Ozon's text, shown by Rich
            status.update(f"waiting for the postings report: {shown}")

        try:
            wait = method.waiting(timeout=timeout, interval=interval, on_check=checked)
            result = await wait(**body)
        except TaskTimeoutError as exc:
            session.say(
                f"ozon: the report {exc.task_id} was not ready after {timeout:g} s; ask later "
                f"with: ozon call report.info_v1 code={exc.task_id}"
            )
            return EXIT_API
        except OzonError as exc:
            return session.report(exc)
        if not result.ok:
            session.say(
                f"ozon: the report {result.task_id} ended {result.state}"
                + (f": {result.error}" if result.error else "")
            )
            return EXIT_API
        status.update(f"downloading the report {result.task_id}")
        try:
            if out == "-":
                data = await result.download()
                size = len(data)
            else:
                path = await result.download(Path(out))
                size = path.stat().st_size
        except (OzonError, TaskError) as exc:
            return session.report(exc)
    if out == "-":
        try:
            stdout = terminal_bytes(sys.stdout.buffer)  # the file's text, escaped on a terminal
            stdout.write(data)
            stdout.flush()
            if stdout is not sys.stdout.buffer:
                stdout.close()
        except BrokenPipeError:
            from ozon_async.cli._call import silence_stdout

            silence_stdout()
    where = "stdout" if out == "-" else out
    session.say(
        f"ozon: report {result.task_id}: ready after {plural(result.checks, 'check')} "
        f"({result.elapsed:.0f} s); {size:,} bytes written to {where}"
    )
    return EXIT_OK
