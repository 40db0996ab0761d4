"""The seller's daily jobs on the command line: ``ozon stocks push``, ``ozon prices push``,
``ozon report postings``; and ``ozon mcp`` (the MCP server's own command line).

``push`` reads a CSV file whose columns are the JSON names of the operation's item model (for
stocks ``offer_id`` or ``product_id``, ``warehouse_id``, ``stock``; for prices ``offer_id`` or
``product_id``, ``price`` and optionally ``old_price``, ``min_price``, ``currency_code``, ``vat``
and the other fields of the model), checks every row with that model before anything is sent
(every bad row is reported with its line number, exit code 2), then sends them with the
operation's ``.bulk()``: requests of the operation's maximum, at its rate limit, each item's
per-item rule kept. The outcome of every item that was not applied (failed, or left for later)
goes to a CSV report with its line number, Ozon's code and message.

``report postings`` creates a postings report, waits for it (a spinner on a terminal) and
downloads the file through :meth:`OzonClient.download` (no credentials to the file's host).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click
import msgspec

from ozon_async._client import OPERATIONS
from ozon_async._codec import field_path
from ozon_async._exceptions import OzonError, RequestValidationError
from ozon_async._operation import Operation
from ozon_async.cli._output import terminal_bytes, terminal_text
from ozon_async.cli._progress import wants_progress
from ozon_async.cli._runner import (
    EXIT_API,
    EXIT_OK,
    EXIT_USAGE,
    Connection,
    Session,
    connection_options,
    run_async,
)

if TYPE_CHECKING:
    from ozon_async._bulk import BulkResult
    from ozon_async._client import OzonClient

__all__ = ["mcp", "prices", "report", "stocks"]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
STOCKS = "POST /v2/products/stocks"
PRICES = "POST /v1/product/import/prices"
POSTINGS_REPORT = "POST /v1/report/postings/create"
#: The columns of a push report before the input's own columns.
REPORT_COLUMNS = ("line", "status", "code", "message", "retry_after")
#: At most this many bad rows are listed (the count says how many there are in all).
MAX_LISTED = 50


# ---------------------------------------------------------------------- reading the file
class RowError(Exception):
    """The file cannot be read as the operation's items."""


@dataclass
class Rows:
    """The items of a file, validated, with the line each one started on."""

    columns: list[str]
    lines: list[int]
    raw: list[dict[str, str]]
    items: list[Any]


def item_type(op: Operation) -> Any:
    """The model of one item of a batch operation (from its request model)."""
    import msgspec.inspect as mi

    assert op.batch is not None and op.request_type is not None
    request = mi.type_info(op.request_type)
    assert isinstance(request, mi.StructType)
    for f in request.fields:
        if f.encode_name != op.batch.field:
            continue
        info: Any = f.type
        while True:
            if isinstance(info, mi.Metadata):
                info = info.type
            elif isinstance(info, mi.UnionType):
                info = next(t for t in info.types if not isinstance(t, mi.NoneType))
            else:
                break
        assert isinstance(info, mi.ListType)
        inner: Any = info.item_type
        assert isinstance(inner, mi.StructType)
        return inner.cls
    raise AssertionError(f"{op.key}: no field {op.batch.field}")


def _columns_of(model: Any) -> list[str]:
    return [f.encode_name for f in msgspec.structs.fields(model)]


def _delimiter(header: str) -> str:
    """``;`` (Ozon's and a Russian Excel's choice), a tab, or ``,``: whichever the header uses."""
    counts = {d: header.count(d) for d in (";", "\t", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_items(op: Operation, stream: IO[str], name: str) -> Rows:
    """Read and validate every row; raise :class:`RowError` listing every problem."""
    model = item_type(op)
    known = _columns_of(model)
    batch = op.batch
    assert batch is not None
    text = stream.read()
    if text.startswith("\ufeff"):
        text = text[1:]
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise RowError(f"{name}: no header line; the columns are: {', '.join(known)}")
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(first))
    columns = [c.strip() for c in reader.fieldnames or []]
    unknown = [c for c in columns if c not in known]
    if unknown or len(set(columns)) != len(columns):
        what = (
            f"unknown column(s) {', '.join(repr(c) for c in unknown)}"
            if unknown
            else "a column is given twice"
        )
        raise RowError(f"{name}: {what}; the columns are: {', '.join(known)}")
    reader.fieldnames = columns
    problems: list[str] = []
    lines: list[int] = []
    raw: list[dict[str, str]] = []
    items: list[Any] = []
    for row in reader:
        # the line the record starts on (a quoted cell may span lines)
        spans = sum(v.count("\n") for v in row.values() if isinstance(v, str))
        line = reader.line_num - spans
        if None in row:
            problems.append(f"line {line}: more cells than columns")
            continue
        values = {k: v.strip() for k, v in row.items() if v is not None and v.strip() != ""}
        if not values:
            continue  # a blank line
        try:
            item = msgspec.convert(values, model, strict=False)
        except msgspec.ValidationError as exc:
            message, path = field_path(str(exc))
            problems.append(f"line {line}: {path + ': ' if path else ''}{message}")
            continue
        if batch.key and not any(all(f in values for f in alt) for alt in batch.key):
            need = " or ".join("+".join(alt) for alt in batch.key)
            problems.append(f"line {line}: needs {need} to say which item it is")
            continue
        lines.append(line)
        raw.append({k: row[k] or "" for k in columns})
        items.append(item)
    if problems:
        listed = problems[:MAX_LISTED]
        more = len(problems) - len(listed)
        tail = f"\n  ... and {more} more" if more else ""
        raise RowError(f"{name}: {len(problems)} invalid row(s):\n  " + "\n  ".join(listed) + tail)
    return Rows(columns, lines, raw, items)


# ---------------------------------------------------------------------- progress
class ItemsProgress:
    """Items done of the total, a bar and the elapsed time on stderr (a terminal only)."""

    def __init__(self, label: str, total: int, *, enabled: bool) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> ItemsProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("items"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                refresh_per_second=8,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total)
        return self

    def update(self, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


# ---------------------------------------------------------------------- push
def _open_input(path: str) -> tuple[IO[str], str]:
    if path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline=""), "stdin"
    try:
        return open(path, encoding="utf-8-sig", newline=""), path
    except OSError as exc:
        raise RowError(f"cannot read {path}: {exc.strerror}") from None


def write_report(result: BulkResult[Any, Any], rows: Rows, stream: IO[str]) -> int:
    """One CSV line per item that was not applied; returns how many."""
    out = csv.writer(stream)
    out.writerow([*REPORT_COLUMNS, *rows.columns])
    written = 0
    for outcome in result:
        if outcome.ok:
            continue
        error = outcome.error
        retry = outcome.retry_after
        out.writerow(
            [
                rows.lines[outcome.index],
                outcome.status,
                error.code or "" if error else "",
                error.message if error else "",
                f"{retry:.1f}" if retry is not None else "",
                *(rows.raw[outcome.index][c] for c in rows.columns),
            ]
        )
        written += 1
    stream.flush()
    return written


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _request_errors(result: BulkResult[Any, Any]) -> list[OzonError]:
    """The distinct errors of requests that failed as a whole."""
    seen: list[OzonError] = []
    for outcome in result.failed:
        exc = outcome.error.exception if outcome.error else None
        if exc is not None and all(exc is not e for e in seen):
            seen.append(exc)
    return seen


async def _push(
    session: Session,
    client: OzonClient,
    op: Operation,
    rows: Rows,
    *,
    wait: bool | float,
    report: Path | None,
    progress: bool,
    label: str,
) -> int:
    method = getattr(getattr(client, op.group), op.name)
    try:
        with ItemsProgress(label, len(rows.items), enabled=progress) as bar:
            result = await method.bulk(rows.items, wait=wait, on_progress=bar.update)
    except OzonError as exc:  # e.g. the rate limiter's backend is unreachable
        return session.report(exc)
    errors = _request_errors(result)
    for error in errors[:3]:
        session.report(error)
    if len(errors) > 3:
        session.say(f"ozon: ... and {len(errors) - 3} more requests failed as a whole")
    if report is not None:
        with report.open("w", encoding="utf-8", newline="") as f:
            listed = write_report(result, rows, f)
    else:
        try:
            with terminal_text(sys.stdout) as stdout:  # Ozon's messages: escaped on a terminal
                listed = write_report(result, rows, stdout)
        except BrokenPipeError:
            from ozon_async.cli._call import silence_stdout

            silence_stdout()
            listed = len(result) - len(result.succeeded)
    later = result.retry_later
    parts = [f"{len(result.succeeded):,} applied", f"{len(result.failed):,} failed"]
    if later:
        soonest = min(o.retry_after or 0.0 for o in later)
        parts.append(f"{len(later):,} to send again (the first in {soonest:.0f} s)")
    where = f"; {listed:,} listed in {report}" if report is not None else ""
    session.say(
        f"ozon: {label}: {_count(len(result), 'item')} in {_count(result.requests, 'request')}: "
        f"{', '.join(parts)} in {result.elapsed:.1f} s{where}"
    )
    return EXIT_API if result.failed else EXIT_OK


def _push_command(key: str, label: str, columns_help: str) -> click.Command:
    op = OPERATIONS[key]
    assert op.batch is not None and op.item_rate_limit is not None
    rule = op.item_rate_limit
    per = f"{rule.requests} update(s) of one item per {rule.period:g} s"

    @click.command(
        "push",
        context_settings=CONTEXT,
        help=f"""Send every row of FILE (CSV; - for stdin) through {op.key}.

        \b
        {columns_help}

        The first line names the columns (the JSON names of the item model; separated by commas,
        semicolons or tabs; UTF-8). Every row is checked before anything is sent: bad rows are
        listed with their line numbers and nothing is sent (exit code 2). Rows go in requests of
        up to {op.batch.max_items} at the operation's rate limit; Ozon allows {per}, so a
        repeated item waits for its turn (--max-wait limits how long; the rest is reported as
        retry_later). The items that were not applied are written as CSV (line, status, code,
        message, retry_after and the row's own cells) to stdout or --report FILE; exit code 1
        if any failed.""",
    )
    @click.argument("file", metavar="FILE")
    @click.option(
        "-r",
        "--report",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write the report of items not applied to FILE instead of stdout.",
    )
    @click.option(
        "--max-wait",
        type=click.FloatRange(min=0),
        metavar="SECONDS",
        help="How long a repeated item may wait for its per-item limit (default: as long as "
        "it takes; 0: not at all).",
    )
    @click.option(
        "--progress/--no-progress",
        default=None,
        help="Progress on stderr (default: when stderr is a terminal).",
    )
    @click.option(
        "--dry-run", is_flag=True, help="Check the file and say what would be sent; send nothing."
    )
    @connection_options
    def push(
        file: str,
        report: Path | None,
        max_wait: float | None,
        progress: bool | None,
        dry_run: bool,
        conn: Connection,
    ) -> None:
        session = Session.open(conn)
        try:
            stream, name = _open_input(file)
            with stream:
                rows = read_items(op, stream, name)
        except RowError as exc:
            session.fail(EXIT_USAGE, f"ozon: {exc}\n  nothing was sent")
        except UnicodeDecodeError as exc:
            session.fail(EXIT_USAGE, f"ozon: {file}: not UTF-8 text ({exc})\n  nothing was sent")
        if not rows.items:
            session.fail(EXIT_USAGE, f"ozon: {name}: no rows to send")
        if dry_run:
            assert op.batch is not None
            requests = -(-len(rows.items) // op.batch.max_items)
            session.say(
                f"ozon: dry run: {len(rows.items):,} valid rows of {name}, at least "
                f"{requests:,} request(s) to {op.key}; nothing was sent"
            )
            session.exit(EXIT_OK)
        client = session.client()
        wait: bool | float = True if max_wait is None else max_wait

        async def work() -> int:
            async with client:
                return await _push(
                    session,
                    client,
                    op,
                    rows,
                    wait=wait,
                    report=report,
                    progress=wants_progress(progress),
                    label=label,
                )

        session.exit(run_async(work))

    return push


@click.group(context_settings=CONTEXT)
def stocks() -> None:
    """Stocks at your warehouses (FBS, rFBS)."""


stocks.add_command(
    _push_command(
        STOCKS,
        "stocks push",
        "offer_id,warehouse_id,stock      (or product_id instead of offer_id)\n"
        "        ART-1,22254230,10",
    )
)


@click.group(context_settings=CONTEXT)
def prices() -> None:
    """Product prices."""


prices.add_command(
    _push_command(
        PRICES,
        "prices push",
        "offer_id,price,old_price,min_price   (or product_id; other columns: currency_code,\n"
        "        vat, auto_action_enabled, ... as in the model)\n"
        "        ART-1,1490.00,1990.00,1290.00",
    )
)


# ---------------------------------------------------------------------- report postings
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
    with _Spinner("creating the postings report", enabled=spinner) as status:

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
        f"ozon: report {result.task_id}: ready after {result.checks} checks "
        f"({result.elapsed:.0f} s); {size:,} bytes written to {where}"
    )
    return EXIT_OK


class _Spinner:
    """A Rich spinner with a status line on stderr (a terminal only)."""

    def __init__(self, text: str, *, enabled: bool) -> None:
        self.text = text
        self.enabled = enabled
        self._status: Any = None

    def __enter__(self) -> _Spinner:
        if self.enabled:
            from rich.console import Console

            self._status = Console(stderr=True).status(self.text)
            self._status.start()
        return self

    def update(self, text: str) -> None:
        self.text = text
        if self._status is not None:
            self._status.update(text)

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


# ---------------------------------------------------------------------- mcp
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
