"""Error answers: what an answer with an error status becomes (the exception the caller sees).

Ozon's errors are JSON (``code``, ``message``, ``details``); gateways and proxies answer with
HTML pages or plain text instead, which :func:`summarize_body` reduces to one line. What the retry
decision reads of the exception (:func:`ozon_async._retry.outcome_of`) is set here: the status,
``Retry-After`` in its headers, and :class:`CircuitOpenError` for Ozon's breaker.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ozon_async._exceptions import (
    APIStatusError,
    CircuitOpenError,
    RateLimitError,
    status_error_class,
)
from ozon_async._retry import is_circuit_open, read_retry_after

if TYPE_CHECKING:
    from ozon_async._operation import Operation, Subscription
    from ozon_async._transport import HTTPResponse

__all__ = ["answer_error", "summarize_body"]


def answer_error(
    resp: HTTPResponse, method: str, path: str, op: Operation | None = None
) -> APIStatusError:
    """The exception for an error answer. When Ozon refuses access to an operation that needs a
    paid subscription, the error names it."""
    status = resp.status
    code, message, details = _error_fields(resp.content)
    breaker = message is not None and is_circuit_open(message)
    text = message if message else summarize_body(resp.content)
    cls: type[APIStatusError] = CircuitOpenError if breaker else status_error_class(status)
    if 300 <= status < 400:
        location = resp.headers.get("Location")
        text = f"redirect to {location}" if location else "redirect without a Location"
    error = cls(
        text,
        status=status,
        code=code,
        details=details,
        body=resp.content,
        trace_id=resp.headers.get("x-o3-trace-id"),
        method=method,
        path=path,
        headers=resp.headers,
        subscription=_needed_subscription(op, status, code, message),
    )
    if isinstance(error, RateLimitError):
        found = read_retry_after(resp.headers)
        error.retry_after = found[0] if found else None
    return error


def _error_fields(content: bytes) -> tuple[int | str | None, str | None, list[Any]]:
    """(code, message, details) of Ozon's JSON error body; ``None``, ``None``, ``[]`` for
    anything else."""
    data = _json_or_none(content)
    if not isinstance(data, dict):
        return None, None, []
    c = data.get("code")
    code = c if isinstance(c, (int, str)) and not isinstance(c, bool) else None
    m = data.get("message")
    if m is None:
        m = data.get("error")
    d = data.get("details")
    return code, m if isinstance(m, str) else None, d if isinstance(d, list) else []


_SUBSCRIPTION_WORDS = re.compile(r"subscri|premium|подписк", re.IGNORECASE)


def _needed_subscription(
    op: Operation | None, status: int, code: int | str | None, message: str | None
) -> Subscription | None:
    """The subscription ``op`` needs, when this error answer is Ozon refusing access: a 403, a
    permission-denied code (7, the gRPC code Ozon's gateway passes through), or a refusal whose
    text speaks of a subscription."""
    if op is None or op.subscription is None or status in (401, 404, 429) or status >= 500:
        return None
    denied = status == 403 or code in (7, "7", "PermissionDenied", "PERMISSION_DENIED")
    if denied or (message is not None and _SUBSCRIPTION_WORDS.search(message)):
        return op.subscription
    return None


def _json_or_none(content: bytes) -> Any:
    """The body as JSON, or ``None`` when it is not JSON (or is too deep to decode)."""
    if content[:64].lstrip()[:1] not in (b"{", b"["):
        return None
    import msgspec

    try:
        return msgspec.json.decode(content)
    except Exception:  # DecodeError, RecursionError on absurd nesting
        return None


_HTML = re.compile(rb"<\s*(!doctype|html|head|body|title)\b", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_HIDDEN = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def summarize_body(content: bytes, limit: int = 300) -> str:
    """A short text for an error body that is not Ozon's JSON: an HTML page's ``<title>`` (or
    its first line of text), otherwise the first non-empty line."""
    head = content[:65536]
    text = head.decode("utf-8", errors="replace")
    if _HTML.search(head[:4096]):
        title = _TITLE.search(text)
        if title and title.group(1).strip():
            return _shorten(_unescape(" ".join(title.group(1).split())), limit)
        text = _unescape(_TAG.sub("\n", _HIDDEN.sub("", text)))
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            return _shorten(line, limit)
    return ""


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unescape(text: str) -> str:
    import html  # only error pages need it

    return html.unescape(text)
