"""``ozon call``: one request, or every page of a list (``--all``), through the SDK's runtime.

The body is validated through the operation's request model exactly as a typed call does
(:func:`ozon_async._codec.build_request`), before a client exists: an invalid body exits with code
2 and nothing is sent. Path parameters go into the path and files (``key@file``) into a
multipart body, as the typed method does (:func:`ozon_async._request.prepare`). The request then
goes through the client's runtime for its operation, so auth, rate limits (the operation's own
too), retries (never resending a write by surprise) and error mapping are the SDK's own. Answers
are printed as Ozon sent them (not re-decoded into models, so no field the models lack is lost).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import msgspec

from ozon_async import _catalog
from ozon_async._codec import build_request, merge_extra_body
from ozon_async._exceptions import OzonError, RequestValidationError
from ozon_async._operation import Operation
from ozon_async._pagination import iter_pages
from ozon_async._request import (
    MULTIPART,
    Prepared,
    UploadFile,
    multipart_parts,
    prepare,
)
from ozon_async._runtime import send_prepared
from ozon_async.cli._ops import dotted
from ozon_async.cli._output import CsvWriter, JsonLinesWriter, Writer, terminal_bytes
from ozon_async.cli._progress import ExportProgress
from ozon_async.cli._runner import EXIT_API, EXIT_OK, EXIT_USAGE, Session

if TYPE_CHECKING:
    from ozon_async._client import BaseClient
    from ozon_async._response import APIResponse

__all__ = [
    "ExportOptions",
    "call_once",
    "describe_body",
    "export_all",
    "prepare_body",
    "print_json",
]


# ---------------------------------------------------------------------- the request body
def prepare_body(
    op: Operation, body: Mapping[str, Any] | None, extra_body: Mapping[str, Any] | None = None
) -> Prepared:
    """What the call sends, as the typed method would: the concrete path (path parameters such
    as ``file_guid`` filled in) and the validated body: none for a GET, JSON, or
    ``multipart/form-data`` for operations that upload files (files given as ``key@file``).

    Raises :class:`RequestValidationError` naming the field."""
    fields = dict(body or {})
    upload = _first_upload(fields)
    if upload is not None and op.request_content_type != MULTIPART:
        raise RequestValidationError(
            "only operations that upload files take a file (key@file); for the text of a file "
            "as a string value use key=@file",
            field=upload,
            operation=op.key,
        )
    names = (*op.path_params, *op.query_params)
    params = {name: fields.pop(name) for name in names if name in fields}
    request_type = op.request_type
    if (op.method == "GET" or request_type is None) and not op.query_params:
        if fields:
            first = sorted(fields)[0]
            what = (
                f"{op.method} requests take no body"
                if op.method == "GET"
                else ("this operation takes no parameters")
            )
            raise RequestValidationError(
                f"{what} (got {', '.join(sorted(fields))})", field=first, operation=op.key
            )
        if extra_body and op.method == "GET":
            raise RequestValidationError(
                f"{op.method} requests take no body", field="extra_body", operation=op.key
            )
    prepared = prepare(op, request_type, {**params, **fields})
    if op.method != "GET" and prepared.body is None:  # an operation without parameters
        prepared = Prepared(prepared.path, b"{}", None)
    if extra_body:
        if prepared.content_type is not None:
            raise RequestValidationError(
                "extra_body applies to JSON bodies only", field="extra_body", operation=op.key
            )
        body_with_extra = merge_extra_body(op.key, prepared.body, extra_body)
        prepared = Prepared(prepared.path, body_with_extra, None)
    return prepared


def _first_upload(value: Any, path: str = "") -> str | None:
    """The path of the first file (key@file) in a body, if any."""
    if isinstance(value, UploadFile):
        return path
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _first_upload(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _first_upload(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def describe_body(prepared: Prepared) -> str:
    """A line about a multipart body for ``--dry-run`` (its parts, not the files' bytes)."""
    size = len(prepared.body or b"")
    return f"multipart/form-data, {size:,} bytes, parts: {', '.join(multipart_parts(prepared))}"


def _is_json(content_type: str) -> bool:
    ctype = content_type.split(";")[0].strip().lower()
    return ctype == "application/json" or ctype.endswith("+json")


def _note_deprecated(session: Session, op: Operation) -> None:
    if op.deprecated or op.removed:
        from ozon_async.resources._registry import OPERATIONS

        succ = OPERATIONS.get(op.replaced_by or "")
        name = f"{dotted(succ)} ({succ.key})" if succ is not None else None
        session.say(f"ozon: warning: {op.key} is {op.lifecycle_warning(name)}")


def _log_response(session: Session, resp: APIResponse[Any]) -> None:
    session.log(
        f"{resp.method} {resp.path}: answered {resp.status} after "
        f"{resp.attempts} attempt{'' if resp.attempts == 1 else 's'}, "
        f"{len(resp.content):,} bytes of {resp.content_type or '-'}, trace {resp.trace_id or '-'}"
    )


# ---------------------------------------------------------------------- printing
def print_json(data: bytes, *, pretty: bool, stream: IO[str] | None = None) -> None:
    """Print a JSON answer: coloured and indented on a terminal, compact (one line) otherwise.

    JSON escapes the C0 control characters itself; on a terminal DEL and the C1 controls are
    escaped too (``\\u009b``, still the same JSON), so no answer can drive the terminal."""
    out = stream or sys.stdout
    value = msgspec.json.decode(data) if data.strip() else None
    terminal = _isatty(out)
    if pretty:
        text = json.dumps(value, indent=2, ensure_ascii=False)
    else:
        text = msgspec.json.encode(value).decode("utf-8")
    if terminal:
        text = _UNESCAPED_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if pretty and terminal:
        from rich.console import Console
        from rich.highlighter import JSONHighlighter
        from rich.text import Text

        Console(file=out, soft_wrap=True).print(JSONHighlighter()(Text(text)))
        return
    out.write(text + "\n")
    out.flush()


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


# What JSON encoders leave as they are although a terminal may act on it: DEL and C1 controls.
_UNESCAPED_CONTROLS = re.compile("[\x7f-\x9f]")


def silence_stdout() -> None:
    """After the reader of stdout went away: send what is left to /dev/null, so that Python's
    final flush does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _isatty(stream: IO[Any]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# ---------------------------------------------------------------------- one call
async def call_once(
    session: Session,
    client: BaseClient,
    op: Operation,
    prepared: Prepared,
    *,
    out: Path | None,
    pretty: bool | None,
) -> int:
    """Send one request and print (or save) the answer."""
    _note_deprecated(session, op)
    try:
        resp = await send_prepared(client, op, prepared)
    except OzonError as exc:
        _log_error(session, exc)
        return session.report(exc)
    _log_response(session, resp)
    if out is not None:
        out.write_bytes(resp.content)
        session.say(f"ozon: wrote {len(resp.content):,} bytes ({resp.content_type}) to {out}")
        return EXIT_OK
    if not _is_json(resp.content_type or op.response_content_type):
        if _isatty(sys.stdout):
            session.say(
                f"ozon: the answer is {resp.content_type or 'binary'} "
                f"({len(resp.content):,} bytes); save it with --out FILE"
            )
            return EXIT_USAGE
        try:
            sys.stdout.buffer.write(resp.content)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            silence_stdout()
        return EXIT_OK
    try:
        print_json(resp.content, pretty=pretty if pretty is not None else _isatty(sys.stdout))
    except BrokenPipeError:
        silence_stdout()
    except msgspec.DecodeError as exc:
        session.say(f"ozon: the answer is not valid JSON ({exc}); raw body follows on stdout")
        raw = terminal_bytes(sys.stdout.buffer)
        raw.write(resp.content)
        raw.flush()
        if raw is not sys.stdout.buffer:
            raw.close()
        return EXIT_API
    return EXIT_OK


def _log_error(session: Session, exc: BaseException) -> None:
    method = getattr(exc, "method", "")
    status = getattr(exc, "status", None)
    if method and status is not None:
        session.log(
            f"{method} {getattr(exc, 'path', '')} -> {status}, trace "
            f"{getattr(exc, 'trace_id', None) or '-'}"
        )


# ---------------------------------------------------------------------- --all
def _dig(data: Any, path: list[str]) -> Any:
    for name in path:
        if not isinstance(data, dict):
            return None
        data = data.get(name)
    return data


def _attr(obj: Any, path: tuple[str, ...] | None) -> Any:
    if path is None:
        return None
    for name in path:
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


@dataclass
class ExportOptions:
    format: str  # "jsonl" or "csv"
    out: Path | None
    csv_sample: int
    progress: bool


async def export_all(
    session: Session,
    client: BaseClient,
    op: Operation,
    body: Mapping[str, Any] | None,
    options: ExportOptions,
    extra_body: Mapping[str, Any] | None = None,
) -> int:
    """Walk every page of a paginated operation, writing its items as JSON Lines or CSV."""
    pagination = _catalog.json_walker(op)
    assert pagination is not None
    _note_deprecated(session, op)
    # Start from the body the typed call would send (values converted by the request model);
    # the walker and the pages speak JSON names.
    start: dict[str, Any] = {}
    if op.request_type is not None:
        start = msgspec.to_builtins(build_request(op.key, op.request_type, dict(body or {})))
    items_path = _catalog.items_path(op)
    last: dict[str, Any] = {}

    async def fetch(**kwargs: Any) -> Any:
        resp = await send_prepared(client, op, prepare_body(op, kwargs, extra_body))
        _log_response(session, resp)
        last["raw"] = resp.json()
        return resp.parse(op.response_type) if op.response_type is not None else last["raw"]

    stream: IO[bytes] = (
        options.out.open("wb")
        if options.out is not None
        else terminal_bytes(sys.stdout.buffer)
        if options.format == "csv"  # JSON Lines escape control characters themselves
        else sys.stdout.buffer
    )
    writer: Writer = (
        CsvWriter(stream, sample=options.csv_sample)
        if options.format == "csv"
        else JsonLinesWriter(stream, terminal=options.out is None and _isatty(sys.stdout))
    )
    progress = ExportProgress(dotted(op), enabled=options.progress)
    outcome = "done"
    code = EXIT_OK
    try:
        with progress:
            async for page in iter_pages(fetch, pagination, start):
                items = _dig(last.get("raw"), items_path)
                if not isinstance(items, list):
                    items = [] if items is None else [items]
                writer.write_many(items)
                writer.flush()
                total = _attr(page, pagination.total)
                progress.page(len(items), total if isinstance(total, int) else None)
    except asyncio.CancelledError:
        outcome = "interrupted"
        raise
    except OzonError as exc:
        outcome = "stopped by an error"
        _log_error(session, exc)
        code = session.report(exc)
    except BrokenPipeError:
        # The reader went away (`ozon call ... --all | head`): stop asking for pages.
        outcome = "stopped: the output was closed"
        silence_stdout()
    finally:
        try:
            writer.close()
        except BrokenPipeError:
            outcome = "stopped: the output was closed"
            silence_stdout()
        if options.out is not None or stream is not sys.stdout.buffer:
            stream.close()  # a file, or the terminal's escaping wrapper (stdout stays open)
        where = f" to {options.out}" if options.out is not None else ""
        closed = outcome.endswith("output was closed")
        if session.conn.verbose or (not closed and (outcome != "done" or options.out is not None)):
            session.say(
                f"ozon: {outcome}: {_count(writer.rows, 'item')} from "
                f"{_count(progress.pages, 'page')} "
                f"written{where} in {progress.elapsed:.1f} s"
            )
    return code
