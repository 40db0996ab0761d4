"""Text from Ozon (or any server) made safe for a terminal.

An answer can hold control characters: ``ESC ] 0 ; … BEL`` retitles a terminal, ``ESC [ 2 J``
clears it, ``CR`` overwrites what a line said. Before such text reaches a terminal in a format
that is not JSON (error messages, log lines, CSV), :func:`escape_controls` writes every control
character except newline and tab as a visible escape (``\\x1b``, ``\\r``), and
:class:`TerminalWriter` does the same for a byte stream, keeping CSV's ``CRLF`` line ends.
JSON needs nothing: its encoders escape control characters themselves. Files and pipes get the
data as it is.

Standard library only: the command line and the MCP server both use it.
"""

from __future__ import annotations

import codecs
import io
import re
from typing import IO, Any

__all__ = ["TerminalWriter", "escape_controls"]

# C0 controls but tab and newline, DEL, and the C1 controls (U+0080-U+009F; a terminal may treat
# U+009B as CSI, like ESC [).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_NAMED = {"\r": "\\r", "\x1b": "\\x1b"}


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    return _NAMED.get(c) or f"\\x{ord(c):02x}"


def escape_controls(text: str, *, keep_crlf: bool = False) -> str:
    """``text`` with each control character other than ``\\n`` and ``\\t`` written as an escape
    (``"\\x1b[2J"`` → ``"\\\\x1b[2J"``); with ``keep_crlf``, a ``\\r`` right before ``\\n`` stays."""
    if not _CONTROL.search(text):
        return text
    if keep_crlf and "\r\n" in text:
        return "\r\n".join(_CONTROL.sub(_escape, part) for part in text.split("\r\n"))
    return _CONTROL.sub(_escape, text)


class TerminalWriter(io.RawIOBase):
    """A binary stream for a terminal: UTF-8 bytes are decoded, escaped with
    :func:`escape_controls` (``CRLF`` kept) and written to ``stream`` (invalid bytes become
    U+FFFD). Works under :class:`io.TextIOWrapper` and :mod:`csv`."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending_cr = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        raw = bytes(data)
        self._put(self._decoder.decode(raw))
        return len(raw)

    def _put(self, text: str) -> None:
        if self._pending_cr:
            text = "\r" + text
            self._pending_cr = False
        if text.endswith("\r"):  # it may be the first half of a CRLF
            text = text[:-1]
            self._pending_cr = True
        if text:
            self._stream.write(escape_controls(text, keep_crlf=True).encode("utf-8"))

    def flush(self) -> None:
        if not self.closed:
            self._stream.flush()

    def close(self) -> None:
        """Write what is held back (a last ``\\r``, an incomplete character); ``stream`` stays
        open for its owner."""
        if self.closed:
            return
        tail = self._decoder.decode(b"", final=True)
        if self._pending_cr:
            self._pending_cr = False
            tail = "\r" + tail
        if tail:
            self._stream.write(escape_controls(tail, keep_crlf=True).encode("utf-8"))
        self._stream.flush()
        super().close()
