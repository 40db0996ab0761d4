"""The retry decision: after a failed attempt, wait and resend, or raise (and say why).

Everything the client decides about a failure is in :func:`decide`, a pure function of what
happened (:class:`Outcome`), how many attempts were made, whether resending is safe, and the
settings (:class:`RetryPolicy`). The client only carries out the answer, so changing which failures
are retried is an edit here, and the table of cases in ``tests/test_retry.py`` shows the effect.

The rules:

- A request that provably never reached the server (the connection could not be made) is resent.
- A 429 and Ozon's breaker answer ("Circle is open" in Ozon's own JSON error body) prove the
  request was refused before it was processed: resent, for writes too.
- Timeouts, lost connections, 408 and 5xx answers are ambiguous (the request may have been
  applied): resent only when resending is safe (the operation only reads, or ``idempotent=True``).
- A 401 after which the client's ``token_provider`` gave a different access token was refused
  before processing: resent once with the new token, at once (not counted in ``max_retries``).
- Other answers (3xx, 4xx) are final.
- No wait is longer than ``max_retry_wait``: when Ozon asks for more (``Retry-After``,
  ``Item-Retry-After``), or the breaker wait or backoff would exceed it, the error is raised at
  once and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from ozon_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    CircuitOpenError,
    ResponseTooLargeError,
)
from ozon_async._record import Record

if TYPE_CHECKING:
    import random

OutcomeKind = Literal["status", "not_sent", "timeout", "lost", "too_large"]

#: What the client says when it does not resend a write after an ambiguous failure.
NOT_RESENT_WRITE = (
    "not resent: this operation changes data; pass idempotent=True if resending is safe"
)
MAY_HAVE_BEEN_APPLIED = "the request may have been applied"


class Backoff(Record):
    """Exponential backoff with jitter: ``base * 2**retry`` capped at ``cap``, times 0.5-1.0."""

    base: float = 0.5
    cap: float = 8.0

    def wait(self, retry: int, jitter: float) -> float:
        """Seconds before resend number ``retry`` (0 for the first), ``jitter`` in [0, 1)."""
        return float(min(self.cap, self.base * (2**retry)) * (0.5 + jitter / 2))

    def delay(self, attempt: int, rand: random.Random | None = None) -> float:
        """:meth:`wait` with a random jitter."""
        if rand is None:
            import random

            return self.wait(attempt, random.random())
        return self.wait(attempt, rand.random())


_BACKOFF = Backoff()


class RetryPolicy(Record):
    """The settings :func:`decide` reads (taken from the client's configuration)."""

    max_retries: int = 3
    max_retry_wait: float = 120.0
    circuit_open_wait: float = 120.0
    backoff: Backoff = _BACKOFF


class Outcome(Record):
    """What a failed attempt produced.

    Attributes:
        kind: ``"status"`` (an answer with a non-2xx status), ``"not_sent"`` (the connection could
            not be made: the server never saw the request), ``"timeout"`` or ``"lost"`` (the
            request may have reached the server), ``"too_large"`` (the answer exceeded
            ``max_response_bytes``).
        status: the HTTP status, for ``"status"``.
        retry_after: seconds the answer asked to wait, and ``retry_after_from`` the header that
            said so (``"Retry-After"`` or ``"Item-Retry-After"``).
        breaker_open: Ozon's JSON error body says its breaker for the method is open.
        token_renewed: the answer was a 401 and the client's ``token_provider`` has since given
            another access token (the client sets it at most once per call).
    """

    kind: OutcomeKind
    status: int = 0
    retry_after: float | None = None
    retry_after_from: str = "Retry-After"
    breaker_open: bool = False
    token_renewed: bool = False


#: The reason given when a 401 is resent with a renewed access token.
TOKEN_RENEWED = "401: the access token was renewed; resending once with the new one"


class Retry(Record):
    """Wait ``wait`` seconds, then resend; ``reason`` is for the log."""

    wait: float
    reason: str


class GiveUp(Record):
    """Raise the error; ``decision`` (may be empty) states what was decided and why."""

    decision: str


def decide(
    outcome: Outcome, attempt: int, safe: bool, policy: RetryPolicy, jitter: float
) -> Retry | GiveUp:
    """Whether to resend after attempt number ``attempt`` (1 for the first) failed with
    ``outcome``.

    Args:
        safe: resending cannot apply a change twice (the operation only reads, or the caller
            passed ``idempotent=True``).
        jitter: a number in [0, 1) that spreads backoff waits (the caller draws it).
    """
    kind = outcome.kind
    source = "backoff"
    wait: float | None
    if kind == "status":
        status = outcome.status
        if outcome.breaker_open:
            # Ozon's JSON answer says the breaker refused the request: nothing was processed.
            if policy.circuit_open_wait <= 0:
                return GiveUp(
                    "not retried: Ozon's breaker for this method is open and "
                    "circuit_open_wait=0 fails fast"
                )
            reason = "Ozon's breaker for this method is open"
            wait = outcome.retry_after
            if wait is None:
                wait, source = policy.circuit_open_wait, "circuit_open_wait"
            else:
                source = outcome.retry_after_from
        elif status == 429:
            reason = "429: rate limited (refused unprocessed)"
            wait = outcome.retry_after
            if wait is not None:
                source = outcome.retry_after_from
        elif status >= 500 or status == 408:
            if not safe:
                return GiveUp(f"{NOT_RESENT_WRITE} ({MAY_HAVE_BEEN_APPLIED})")
            reason = f"{status}"
            wait = outcome.retry_after
            if wait is not None:
                source = outcome.retry_after_from
        elif status == 401 and outcome.token_renewed:
            return Retry(0.0, TOKEN_RENEWED)  # refused unprocessed; a new token may pass
        elif 300 <= status < 400:
            return GiveUp(
                "not followed: redirects could send the Api-Key or the body to another host"
            )
        else:
            return GiveUp("")  # 4xx: Ozon's final answer
    elif kind == "not_sent":
        reason, wait = "connection failed before anything was sent", None
    elif kind == "timeout" or kind == "lost":
        if not safe:
            return GiveUp(f"{MAY_HAVE_BEEN_APPLIED}; {NOT_RESENT_WRITE}")
        reason, wait = ("timeout" if kind == "timeout" else "connection lost"), None
    else:  # too_large: resending would bring the same answer
        return GiveUp("not resent: the answer would be as large again")
    if attempt > policy.max_retries:
        tries = f"{attempt} attempt" + ("" if attempt == 1 else "s")
        return GiveUp(f"gave up after {tries} (max_retries={policy.max_retries})")
    if wait is None:
        wait = policy.backoff.wait(attempt - 1, jitter)
    if wait > policy.max_retry_wait:
        return GiveUp(
            f"not retried: {source} {wait:g} s exceeds max_retry_wait {policy.max_retry_wait:g} s"
        )
    return Retry(wait, reason)


def outcome_of(error: BaseException) -> Outcome | None:
    """What a failed attempt tells :func:`decide`, from the error it raised: the status (with
    ``Retry-After`` and Ozon's breaker) of an error answer, or how the connection failed.
    ``None`` for an error that says nothing about resending (an answer that could not be read,
    a refused argument): it is final. The client, bulk writes and downloads all read their
    failures through this one function."""
    if isinstance(error, APIStatusError):
        breaker = isinstance(error, CircuitOpenError)
        found = read_retry_after(error.headers)
        if found is None:
            return Outcome("status", error.status, breaker_open=breaker)
        return Outcome("status", error.status, found[0], found[1], breaker)
    if isinstance(error, ResponseTooLargeError):
        return Outcome("too_large")
    if isinstance(error, APIConnectionError):
        if not error.sent:
            return Outcome("not_sent")
        return Outcome("timeout" if isinstance(error, APITimeoutError) else "lost")
    return None


def read_retry_after(
    headers: Mapping[str, str], now: float | None = None
) -> tuple[float, str] | None:
    """Seconds to wait, and the header that said so: ``Retry-After`` (seconds or an HTTP date) or
    Ozon's ``Item-Retry-After`` (minutes). ``None`` when neither is present or readable.

    ``now`` is the current POSIX time, for HTTP dates (default: the system time)."""
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        seconds = _number(value)
        if seconds is not None:
            return seconds, "Retry-After"
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            when = None
        if when is not None:
            import time
            from datetime import timezone

            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            current = time.time() if now is None else now
            return max(0.0, when.timestamp() - current), "Retry-After"
    item = headers.get("Item-Retry-After")
    if item:
        minutes = _number(item.strip())
        if minutes is not None:
            return minutes * 60.0, "Item-Retry-After"
    return None


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds from :func:`read_retry_after`, without the header name."""
    found = read_retry_after(headers, now)
    return None if found is None else found[0]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value:  # NaN
        return None
    return max(0.0, value)


def is_circuit_open(message: str) -> bool:
    """Ozon's per-method breaker answers with a message containing "Circle is open". Only the
    ``message`` of Ozon's JSON error body is checked: the same words in an HTML page from a
    proxy prove nothing about the request."""
    text = message.lower()
    return "circle is open" in text or "circuit is open" in text
