"""Pushing the rows of a CSV file through a batch operation (``ozon stocks push``,
``ozon prices push``).

The file's columns are the JSON names of the operation's item model (for stocks ``offer_id`` or
``product_id``, ``warehouse_id``, ``stock``; for prices ``offer_id`` or ``product_id``,
``price`` and optionally ``old_price``, ``min_price``, ``currency_code``, ``vat`` and the other
fields of the model). Every row is checked with that model before anything is sent (every bad
row is reported with its line number, exit code 2), then they are sent with the operation's
``.bulk()``: requests of the operation's maximum, at its rate limit, each item's per-item rule
kept. The outcome of every item that was not applied (failed, or left for later) goes to a CSV
report with its line number, Ozon's code and message.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click
import msgspec

from ozon_async._client import OPERATIONS
from ozon_async._codec import field_path
from ozon_async._exceptions import OzonError
from ozon_async._operation import Operation
from ozon_async.cli._output import terminal_text
from ozon_async.cli._progress import wants_progress
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

if TYPE_CHECKING:
    from ozon_async._bulk import BulkResult
    from ozon_async._client import OzonClient

__all__ = [
    "ItemsProgress",
    "RowError",
    "Rows",
    "plural",
    "push_command",
    "read_items",
    "write_report",
]

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
        invalid = plural(len(problems), "invalid row")
        raise RowError(f"{name}: {invalid}:\n  " + "\n  ".join(listed) + tail)
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


def plural(n: int, noun: str) -> str:
    """``n`` and ``noun``, in the plural unless ``n`` is 1 (``3 requests``)."""
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
    elif all(outcome.ok for outcome in result):
        listed = 0  # nothing to list: stdout stays empty (no header alone)
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
        f"ozon: {label}: {plural(len(result), 'item')} in {plural(result.requests, 'request')}: "
        f"{', '.join(parts)} in {result.elapsed:.1f} s{where}"
    )
    return EXIT_API if result.failed else EXIT_OK


def _push_file(
    op: Operation,
    label: str,
    file: str,
    report: Path | None,
    max_wait: float | None,
    progress: bool | None,
    dry_run: bool,
    conn: Connection,
) -> None:
    """``ozon <group> push FILE``: check every row, then send them (or say what would be)."""
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
            f"{plural(requests, 'request')} to {op.key}; nothing was sent"
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


def push_command(key: str, label: str, columns_help: str) -> click.Command:
    op = OPERATIONS[key]
    assert op.batch is not None and op.item_rate_limit is not None
    rule = op.item_rate_limit
    per = f"{plural(rule.requests, 'update')} of one item per {rule.period:g} s"

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
        _push_file(op, label, file, report, max_wait, progress, dry_run, conn)

    return push
