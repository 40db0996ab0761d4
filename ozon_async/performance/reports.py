"""Statistics exports of the Performance API, the way Ozon's export rules allow them.

``client.reports.statistics(campaigns=..., date_from=..., date_to=...)`` takes any number of
campaigns and days and:

1. splits them into compliant exports (at most 10 campaigns and 62 days each, from the spec's
   ``x-ozon-export-rules``; :func:`~ozon_async._exports.plan_exports`);
2. runs them one at a time per account: each export is started with ``.and_wait()``, which holds
   the account's turn (a lease of the client's limiter, so processes sharing a Redis limiter take
   turns too) from before it starts until Ozon reports it done; an export Ozon refuses because
   another one of the account runs elsewhere (429) is started again once that one had time to end;
3. downloads each file while the next export runs, unpacks a ZIP (one CSV per campaign) and
   parses the CSV files by the spec's ``x-ozon-report-format`` into :class:`StatisticsRow` values,
   keeping each file's text as well.

Exports count against Ozon's daily limits like any other call (one campaign is one export).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import TYPE_CHECKING, Any

import msgspec

from ozon_async._exceptions import ExportLimitError, RateLimitError, RequestValidationError
from ozon_async._exports import ExportChunk, plan_exports
from ozon_async._tasks import TaskFailedError

if TYPE_CHECKING:
    from ozon_async._operation import Operation
    from ozon_async._runtime import Host

__all__ = [
    "ExportRun",
    "ReportFile",
    "Reports",
    "StatisticsReport",
    "StatisticsRow",
    "parse_report",
    "unpack_report",
]

#: The operation a statistics export starts by default, and the one that downloads the files.
STATISTICS = "POST /api/client/statistics"
DOWNLOAD = "GET /api/client/statistics/report"


class StatisticsRow(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One line of a statistics report: a campaign's figures for one day (or week, month,
    period) and, in reports by product, one product. Money is in roubles."""

    campaign_id: int
    """The campaign the line belongs to."""
    date: date | None = None
    """The day (the first day of the week or month with those groupings)."""
    sku: int | None = None
    """The product, in reports by product."""
    title: str | None = None
    """The product's name."""
    price: Decimal | None = None
    """The product's price."""
    views: int | None = None
    clicks: int | None = None
    ctr: Decimal | None = None
    """Clicks per view, in percent."""
    to_cart: int | None = None
    """Times a product was put in a cart."""
    avg_cpc: Decimal | None = None
    """Average cost of a click."""
    avg_cpm: Decimal | None = None
    """Average cost of a thousand views."""
    spend: Decimal | None = None
    """Spend (with VAT when Ozon says so in the header)."""
    orders: int | None = None
    revenue: Decimal | None = None
    model_orders: int | None = None
    """Orders of other products of the same model."""
    model_revenue: Decimal | None = None
    drr: Decimal | None = None
    """Advertising cost as a share of revenue, in percent."""
    added: str | None = None
    """When the product was added to the campaign, as Ozon writes it."""
    extra: dict[str, str] = msgspec.field(default_factory=dict)
    """Columns the spec's table does not know, by header, as text."""


class ReportFile(msgspec.Struct, kw_only=True):
    """One CSV file of an export, as Ozon sent it."""

    campaign_id: int | None
    """The campaign it covers (from the file name or its title line)."""
    name: str
    """The file name in the ZIP, or ``<campaign id>.csv`` for a single file."""
    text: str
    """The CSV text."""
    uuid: str
    """The export it came from."""


class ExportRun(msgspec.Struct, kw_only=True):
    """One export the helper ran."""

    uuid: str
    campaigns: tuple[int, ...]
    date_from: date
    date_to: date
    checks: int
    """How many times its state was asked for."""
    seconds: float
    """From asking for the turn to the end of the export (client clock)."""
    refused: int = 0
    """How many times Ozon refused to start it because another export of the account ran."""


class StatisticsReport(msgspec.Struct, kw_only=True):
    """What :meth:`Reports.statistics` returns."""

    rows: list[StatisticsRow]
    """Every line of every file, in export order (lines of totals left out)."""
    files: list[ReportFile]
    """The CSV files as Ozon sent them."""
    exports: list[ExportRun]
    """The exports that made them, in the order they ran."""

    def csv(self, campaign_id: int | None = None) -> str:
        """The text of the files (of one campaign), one after another."""
        return "".join(
            f.text if f.text.endswith("\n") else f.text + "\n"
            for f in self.files
            if campaign_id is None or f.campaign_id == campaign_id
        )


# ---------------------------------------------------------------------- reading the files
@cache
def report_format() -> dict[str, Any]:
    """``x-ozon-report-format`` of the download operation, from the packaged spec."""
    from ozon_async import _catalog

    method, path = DOWNLOAD.split(" ", 1)
    spec = _catalog.spec(_catalog.PERFORMANCE)
    fmt: dict[str, Any] = spec["paths"][path][method.lower()]["x-ozon-report-format"]
    return fmt


def unpack_report(content: bytes, uuid: str, campaigns: Sequence[int] = ()) -> list[ReportFile]:
    """The CSV files of a downloaded report: the file itself, or each file of a ZIP."""
    import zipfile

    fmt = report_format()
    encoding = fmt.get("encoding", "utf-8")
    pattern = re.compile(str(fmt.get("campaign_in_title") or r"(?!)"))
    files: list[tuple[str, bytes]] = []
    if content[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    files.append((info.filename, archive.read(info)))
    else:
        only = f"{campaigns[0]}.csv" if len(campaigns) == 1 else "report.csv"
        files.append((only, content))
    out = []
    for name, raw in sorted(files):
        text = raw.decode("utf-8-sig" if encoding.lower().replace("-", "") == "utf8" else encoding)
        cid: int | None = None
        stem = re.match(r"(\d+)", name.rsplit("/", 1)[-1])
        if stem:
            cid = int(stem.group(1))
        else:
            first = text.split("\n", 1)[0]
            found = pattern.search(first)
            if found:
                cid = int(found.group(1))
            elif len(campaigns) == 1:
                cid = int(campaigns[0])
        out.append(ReportFile(campaign_id=cid, name=name, text=text, uuid=uuid))
    return out


def _number(text: str, decimal_mark: str) -> Decimal | None:
    clean = text.replace("\u00a0", "").replace(" ", "").strip()
    if decimal_mark and decimal_mark != "." and decimal_mark in clean:
        clean = clean.replace(".", "").replace(decimal_mark, ".")  # "1.234,50": 1234.50
    if clean in ("", "-"):
        return None
    try:
        return Decimal(clean)
    except InvalidOperation:
        return None


def _date(text: str, formats: Iterable[str]) -> date | None:
    text = text.strip()
    for fmt in formats:
        pattern = fmt.replace("YYYY", "%Y").replace("MM", "%m").replace("DD", "%d")
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def parse_report(file: ReportFile) -> tuple[list[StatisticsRow], dict[str, str] | None]:
    """The lines of a report file as rows, and its line of totals by header (if it has one).

    The header line is the first one naming a column of the spec's table (the lines before it
    are the title); a line whose first field is the spec's ``total_label`` holds the totals."""
    fmt = report_format()
    columns: dict[str, dict[str, Any]] = {c["header"]: c for c in fmt["columns"]}
    separator = fmt.get("separator", ";")
    mark = fmt.get("decimal", ".")
    formats = fmt.get("date_formats", ["YYYY-MM-DD"])
    total_label = fmt.get("total_label")
    reader = csv.reader(io.StringIO(file.text), delimiter=separator)
    header: list[str] | None = None
    rows: list[StatisticsRow] = []
    totals: dict[str, str] | None = None
    for line in reader:
        cells = [c.strip() for c in line]
        if not any(cells):
            continue
        if header is None:
            if sum(1 for c in cells if c in columns) >= 2:
                header = cells
            continue
        if total_label is not None and cells[0] == total_label:
            totals = dict(zip(header, cells, strict=False))
            continue
        values: dict[str, Any] = {}
        extra: dict[str, str] = {}
        for name, cell in zip(header, cells, strict=False):
            col = columns.get(name)
            if col is None:
                if name:
                    extra[name] = cell
                continue
            kind = col["type"]
            value: Any
            if kind == "integer":
                number = _number(cell, mark)
                value = int(number) if number is not None else None
            elif kind == "decimal":
                value = _number(cell, mark)
            elif kind == "date":
                value = _date(cell, formats)
            else:
                value = cell or None
            if value is not None:
                values[col["field"]] = value
        if file.campaign_id is None:
            raise ValueError(f"{file.name}: no campaign in its name or title")
        rows.append(StatisticsRow(campaign_id=file.campaign_id, extra=extra, **values))
    return rows, totals


# ---------------------------------------------------------------------- running exports
class Reports:
    """``client.reports``: statistics exports under Ozon's export rules."""

    def __init__(self, client: Host) -> None:
        self._client = client

    def plan(
        self,
        campaigns: Sequence[int | str],
        date_from: date | str,
        date_to: date | str,
    ) -> list[ExportChunk]:
        """The compliant exports a request would be split into (nothing is sent)."""
        rules = self._client.runtime.export_rules
        assert rules is not None
        first, last = _as_date(date_from, "date_from"), _as_date(date_to, "date_to")
        ids = [_as_id(c) for c in campaigns]
        return plan_exports(ids, first, last, rules)

    async def statistics(
        self,
        campaigns: Sequence[int | str],
        date_from: date | str,
        date_to: date | str,
        *,
        group_by: str = "DATE",
        operation: str = STATISTICS,
        timeout: float | None = None,
        turn_timeout: float | None = None,
        interval: float | None = None,
        on_export: Callable[[ExportRun], object] | None = None,
    ) -> StatisticsReport:
        """Export the statistics of ``campaigns`` from ``date_from`` to ``date_to`` (both
        included) in as many compliant exports as needed, one at a time per account.

        Args:
            campaigns: campaign ids, any number.
            date_from, date_to: the period, any length (dates or ``YYYY-MM-DD``).
            group_by: ``DATE`` (a line per day), ``START_OF_WEEK``, ``START_OF_MONTH`` or
                ``NO_GROUP_BY``.
            operation: the export to run, ``"POST /api/client/statistics"`` (default) or another
                operation with ``x-ozon-export`` that takes campaigns and dates (for example
                ``"POST /api/client/statistics/video"``).
            timeout: seconds each export may take once started (default: the spec's 1800).
            turn_timeout: seconds each export may wait for the account's turn (default: the
                same as ``timeout``).
            interval: the first pause between status checks of an export (default: the spec's
                5 s; it grows by half after each check).
            on_export: called with each :class:`ExportRun` as it ends (progress).

        Raises:
            ExportLimitError: no turn within ``turn_timeout``, or the account's daily exports
                are spent.
            TaskFailedError: Ozon reported an export as failed.
        """
        client = self._client
        op = client.runtime.operations.get(operation)
        if op is None or op.export is None or op.task is None or op.export.campaigns is None:
            raise RequestValidationError(
                f"{operation} is not an export of campaigns and days", field="operation"
            )
        chunks = self.plan(campaigns, date_from, date_to)
        if not chunks or not chunks[0].campaigns:
            raise RequestValidationError("no campaigns given", field="campaigns")
        download = client.runtime.operations[op.export.download or DOWNLOAD]
        runs: list[ExportRun] = []
        files: list[ReportFile] = []
        fetches: list[asyncio.Task[list[ReportFile]]] = []
        try:
            for chunk in chunks:
                run = await self._export(op, chunk, group_by, timeout, turn_timeout, interval)
                runs.append(run)
                if on_export is not None:
                    on_export(run)
                # the file downloads while the next export runs
                fetches.append(asyncio.ensure_future(self._fetch(download, run)))
            for fetched in await asyncio.gather(*fetches):
                files.extend(fetched)
        finally:
            for task in fetches:
                task.cancel()
        rows: list[StatisticsRow] = []
        for f in files:
            rows.extend(parse_report(f)[0])
        return StatisticsReport(rows=rows, files=files, exports=runs)

    async def _export(
        self,
        op: Operation,
        chunk: ExportChunk,
        group_by: str,
        timeout: float | None,
        turn_timeout: float | None,
        interval: float | None = None,
    ) -> ExportRun:
        """Run one export with ``.and_wait()`` (which holds the account's turn); start it again
        when Ozon refuses it because another export of the account runs elsewhere."""
        client = self._client
        resource = getattr(client, op.group)
        method = getattr(resource, op.name)
        e = op.export
        assert e is not None and e.campaigns is not None and op.task is not None
        fields: dict[str, Any] = {
            _param(e.campaigns): list(chunk.campaigns),
            "group_by": group_by,
        }
        if e.date_from is not None and e.date_to is not None:
            fields[_param(e.date_from)] = chunk.date_from
            fields[_param(e.date_to)] = chunk.date_to
        clock = client.runtime.clock
        started = clock.now()
        limit = turn_timeout if turn_timeout is not None else (timeout or op.task.timeout)
        refused = 0
        pause = op.task.interval
        while True:
            try:
                result = await method.waiting(timeout=timeout, interval=interval)(**fields)
                break
            except RateLimitError as exc:
                if exc.path.split("?", 1)[0] != op.path:  # not the start: a status check failed
                    raise
                refused += 1
                left = limit - (clock.now() - started)
                if left <= 0:
                    raise ExportLimitError(
                        f"Ozon kept refusing the export for {limit:g} s: another export of "
                        "this account runs (one at a time)",
                        retry_after=exc.retry_after,
                    ) from exc
                await clock.sleep(min(pause, left))
                pause = min(pause * 1.5, op.task.interval * 6)
        if not result.ok:
            raise TaskFailedError(result)
        return ExportRun(
            uuid=str(result.task_id),
            campaigns=tuple(int(c) for c in chunk.campaigns),
            date_from=chunk.date_from,
            date_to=chunk.date_to,
            checks=result.checks,
            seconds=clock.now() - started,
            refused=refused,
        )

    async def _fetch(self, download: Operation, run: ExportRun) -> list[ReportFile]:
        method = getattr(getattr(self._client, download.group), download.name)
        answer = await method(UUID=run.uuid)
        return unpack_report(answer.content, run.uuid, run.campaigns)


def _param(wire: str) -> str:
    """The keyword argument of a JSON field (the generator's rule, for the fields used here)."""
    from re import sub

    return sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", wire).lower()


def _as_date(value: date | str, name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise RequestValidationError(f"{value!r} is not a date (YYYY-MM-DD)", field=name) from None


def _as_id(value: int | str) -> int:
    if isinstance(value, bool):
        raise RequestValidationError("a campaign id must be a number", field="campaigns")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise RequestValidationError(f"{value!r} is not a campaign id", field="campaigns") from None
