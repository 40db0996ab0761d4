"""Output of the command line: JSON answers, JSON Lines and CSV exports.

CSV flattening (``--format csv``):

- nested objects become dotted columns (``analytics_data.city``); a list is one cell holding its
  JSON (``["a","b"]``); ``null`` is an empty cell; ``true``/``false`` stay as written in JSON;
  an empty object is the cell ``{}``; an item that is not an object goes in a ``value`` column.
- The columns are those of the first ``sample`` items (100 by default, ``--csv-sample``), in the
  order they first appear, followed by one more column, ``_extra``. A field that first appears in
  a later item (the header of a streamed file cannot change) goes into that row's ``_extra`` cell
  as a JSON object ``{"dotted.name": value, ...}``, so no value is ever dropped; ``_extra`` is
  empty when nothing was late.
- Rows are written as they arrive (after the sample is buffered) and flushed after every page, so
  an interrupted export is a valid CSV of the items received so far.

Text that came from the server and goes to a terminal in a format other than JSON (CSV, reports,
raw bodies) goes through :func:`terminal_bytes` / :func:`terminal_text`: control characters
are escaped (see :mod:`ozon_async._terminal`). Files and pipes get the data unchanged.
"""

from __future__ import annotations

import abc
import contextlib
import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

import msgspec

__all__ = [
    "EXTRA_COLUMN",
    "CsvWriter",
    "JsonLinesWriter",
    "Writer",
    "cell",
    "flatten",
    "terminal_bytes",
    "terminal_text",
]

EXTRA_COLUMN = "_extra"
_ENCODER = msgspec.json.Encoder()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def terminal_bytes(stream: IO[bytes]) -> IO[bytes]:
    """``stream`` itself, or on a terminal a :class:`~ozon_async._terminal.TerminalWriter` over
    it (close that when done; ``stream`` stays open)."""
    if not _isatty(stream):
        return stream
    from ozon_async._terminal import TerminalWriter

    return TerminalWriter(stream)  # type: ignore[return-value]


@contextlib.contextmanager
def terminal_text(stream: IO[str]) -> Iterator[IO[str]]:
    """A text stream for server text: ``stream`` itself, or on a terminal a wrapper that escapes
    control characters (flushed and detached on exit; ``stream`` stays open)."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None or not _isatty(stream):
        yield stream
        return
    stream.flush()
    safe = io.TextIOWrapper(terminal_bytes(buffer), encoding="utf-8", newline="")
    try:
        yield safe
    finally:
        safe.flush()
        safe.detach().close()


def _json_text(value: Any) -> str:
    return _ENCODER.encode(value).decode("utf-8")


def flatten(value: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [1]}`` -> ``{"a.b": 1, "c": [1]}`` (values are not yet cells)."""
    if out is None:
        out = {}
    if isinstance(value, dict):
        if not value:
            out[prefix or "value"] = value
        for key, sub in value.items():
            flatten(sub, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix or "value"] = value
    return out


def cell(value: Any) -> str:
    """The CSV text of one flattened value."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return _json_text(value)
    return _json_text(value)  # lists and empty objects


class Writer(abc.ABC):
    """Where the items of an export go; subclasses write one format."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.rows = 0

    @abc.abstractmethod
    def write(self, item: Any) -> None:
        """Write one item."""

    def write_many(self, items: Iterable[Any]) -> None:
        for item in items:
            self.write(item)

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        """Write anything still buffered and flush; the stream itself is left open."""
        self.flush()


class JsonLinesWriter(Writer):
    """One compact JSON document per line, written as each item arrives. With ``terminal``, DEL
    and the C1 controls, which JSON leaves as they are, are written as ``\\u00XX`` (the same
    JSON)."""

    def __init__(self, stream: IO[bytes], *, terminal: bool = False) -> None:
        super().__init__(stream)
        self.terminal = terminal

    def write(self, item: Any) -> None:
        line = _ENCODER.encode(item)
        if self.terminal:
            line = _C1.sub(lambda m: b"\\u%04x" % ord(m.group().decode("utf-8")), line)
        self.stream.write(line + b"\n")
        self.rows += 1


# DEL and the C1 controls (U+0080-U+009F) in UTF-8
_C1 = re.compile(b"\x7f|\xc2[\x80-\x9f]")


class CsvWriter(Writer):
    """Flattened items as CSV (UTF-8, the standard ``excel`` dialect); see the module docstring
    for how columns are chosen."""

    def __init__(self, stream: IO[bytes], sample: int = 100) -> None:
        super().__init__(stream)
        if sample < 1:
            raise ValueError("sample must be at least 1")
        self.sample = sample
        self.columns: list[str] | None = None
        self.late_columns: list[str] = []
        self._buffer: list[dict[str, Any]] = []
        self._text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)
        self._csv = csv.writer(self._text)
        self._known: set[str] = set()
        self._closed = False

    def write(self, item: Any) -> None:
        flat = flatten(item)
        if self.columns is None:
            self._buffer.append(flat)
            if len(self._buffer) >= self.sample:
                self._start()
        else:
            self._row(flat)

    def _start(self) -> None:
        columns: dict[str, None] = {}
        for flat in self._buffer:
            for key in flat:
                columns.setdefault(key, None)
        self.columns = list(columns)
        self._known = set(columns)
        extra = EXTRA_COLUMN
        while extra in self._known:
            extra = "_" + extra
        self._csv.writerow([*self.columns, extra])
        buffered, self._buffer = self._buffer, []
        for flat in buffered:
            self._row(flat)

    def _row(self, flat: dict[str, Any]) -> None:
        assert self.columns is not None
        late = {k: v for k, v in flat.items() if k not in self._known}
        for key in late:
            if key not in self.late_columns:
                self.late_columns.append(key)
        row = [cell(flat.get(c)) for c in self.columns]
        row.append(_json_text(late) if late else "")
        self._csv.writerow(row)
        self.rows += 1

    def flush(self) -> None:
        self._text.flush()
        self.stream.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.columns is None and self._buffer:
            self._start()
        self.flush()
        self._text.detach()  # leave the underlying stream open for its owner
