"""The retry decision (ozon_async._retry.decide) as a table: every outcome x safe/unsafe x
attempt (retries left / exhausted), and the reading of Retry-After headers."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from ozon_async._retry import (
    MAY_HAVE_BEEN_APPLIED,
    NOT_RESENT_WRITE,
    Backoff,
    GiveUp,
    Outcome,
    Retry,
    RetryPolicy,
    decide,
    parse_retry_after,
    read_retry_after,
)

POLICY = RetryPolicy(max_retries=2, max_retry_wait=10.0, circuit_open_wait=5.0, backoff=Backoff())
FIRST, LAST = 1, 3  # attempt 1 leaves retries; attempt 3 has used both (max_retries=2)
BACKOFF_1 = 0.25  # base 0.5 * 2**0 * (0.5 + 0/2), with jitter 0

GAVE_UP = "gave up after 3 attempts (max_retries=2)"
WRITE = f"{NOT_RESENT_WRITE} ({MAY_HAVE_BEEN_APPLIED})"
AMBIGUOUS_WRITE = f"{MAY_HAVE_BEEN_APPLIED}; {NOT_RESENT_WRITE}"

S = Outcome  # short


def breaker(retry_after: float | None = None, status: int = 503) -> Outcome:
    return Outcome("status", status, retry_after, "Retry-After", breaker_open=True)


# (name, outcome, safe@first, safe@last, unsafe@first, unsafe@last)
# Each expectation is ("retry", wait) or ("raise", decision text).
TABLE: list[tuple[str, Outcome, tuple[str, object], ...]] = [  # type: ignore[misc]
    ("not sent", S("not_sent"),
     ("retry", BACKOFF_1), ("raise", GAVE_UP), ("retry", BACKOFF_1), ("raise", GAVE_UP)),
    ("timeout", S("timeout"),
     ("retry", BACKOFF_1), ("raise", GAVE_UP), ("raise", AMBIGUOUS_WRITE), ("raise", AMBIGUOUS_WRITE)),
    ("connection lost", S("lost"),
     ("retry", BACKOFF_1), ("raise", GAVE_UP), ("raise", AMBIGUOUS_WRITE), ("raise", AMBIGUOUS_WRITE)),
    ("answer too large", S("too_large"),
     *[("raise", "not resent: the answer would be as large again")] * 4),
    ("302 redirect", S("status", 302),
     *[("raise", "not followed: redirects could send the Api-Key or the body to another host")] * 4),
    ("307 redirect", S("status", 307),
     *[("raise", "not followed: redirects could send the Api-Key or the body to another host")] * 4),
    ("400", S("status", 400), *[("raise", "")] * 4),
    ("401", S("status", 401), *[("raise", "")] * 4),
    ("403", S("status", 403), *[("raise", "")] * 4),
    ("404", S("status", 404), *[("raise", "")] * 4),
    ("409", S("status", 409), *[("raise", "")] * 4),
    ("408", S("status", 408),
     ("retry", BACKOFF_1), ("raise", GAVE_UP), ("raise", WRITE), ("raise", WRITE)),
    ("429", S("status", 429),
     ("retry", BACKOFF_1), ("raise", GAVE_UP), ("retry", BACKOFF_1), ("raise", GAVE_UP)),
    ("429 Retry-After 3", S("status", 429, 3.0),
     ("retry", 3.0), ("raise", GAVE_UP), ("retry", 3.0), ("raise", GAVE_UP)),
    ("429 Retry-After 600", S("status", 429, 600.0),
     ("raise", "not retried: Retry-After 600 s exceeds max_retry_wait 10 s"), ("raise", GAVE_UP),
     ("raise", "not retried: Retry-After 600 s exceeds max_retry_wait 10 s"), ("raise", GAVE_UP)),
    ("429 Item-Retry-After 30 min", S("status", 429, 1800.0, "Item-Retry-After"),
     ("raise", "not retried: Item-Retry-After 1800 s exceeds max_retry_wait 10 s"), ("raise", GAVE_UP),
     ("raise", "not retried: Item-Retry-After 1800 s exceeds max_retry_wait 10 s"), ("raise", GAVE_UP)),
    ("500", S("status", 500),
     ("retry", BACKOFF_1), ("raise", GAVE_UP), ("raise", WRITE), ("raise", WRITE)),
    ("502 (HTML, even saying 'circuit is open')", S("status", 502),
     ("retry", BACKOFF_1), ("raise", GAVE_UP), ("raise", WRITE), ("raise", WRITE)),
    ("503", S("status", 503),
     ("retry", BACKOFF_1), ("raise", GAVE_UP), ("raise", WRITE), ("raise", WRITE)),
    ("503 Retry-After 2", S("status", 503, 2.0),
     ("retry", 2.0), ("raise", GAVE_UP), ("raise", WRITE), ("raise", WRITE)),
    ("503 Retry-After 600", S("status", 503, 600.0),
     ("raise", "not retried: Retry-After 600 s exceeds max_retry_wait 10 s"), ("raise", GAVE_UP),
     ("raise", WRITE), ("raise", WRITE)),
    ("breaker (Ozon JSON), no Retry-After", breaker(),
     ("retry", 5.0), ("raise", GAVE_UP), ("retry", 5.0), ("raise", GAVE_UP)),
    ("breaker (Ozon JSON) on a 429", breaker(status=429),
     ("retry", 5.0), ("raise", GAVE_UP), ("retry", 5.0), ("raise", GAVE_UP)),
    ("breaker, Retry-After 4", breaker(4.0),
     ("retry", 4.0), ("raise", GAVE_UP), ("retry", 4.0), ("raise", GAVE_UP)),
    ("breaker, Retry-After 3600", breaker(3600.0),
     ("raise", "not retried: Retry-After 3600 s exceeds max_retry_wait 10 s"), ("raise", GAVE_UP),
     ("raise", "not retried: Retry-After 3600 s exceeds max_retry_wait 10 s"), ("raise", GAVE_UP)),
]  # fmt: skip


def _check(decision: Retry | GiveUp, expected: tuple[str, object]) -> None:
    kind, value = expected
    if kind == "retry":
        assert isinstance(decision, Retry), decision
        assert decision.wait == pytest.approx(value)
        assert decision.reason
    else:
        assert isinstance(decision, GiveUp), decision
        assert decision.decision == value


@pytest.mark.parametrize("safe", [True, False], ids=["safe", "unsafe"])
@pytest.mark.parametrize("attempt", [FIRST, LAST], ids=["retries left", "retries used"])
@pytest.mark.parametrize("row", TABLE, ids=[row[0] for row in TABLE])
def test_decision_table(row: tuple[object, ...], safe: bool, attempt: int) -> None:
    _, outcome, safe_first, safe_last, unsafe_first, unsafe_last = row
    expected = {
        (True, FIRST): safe_first,
        (True, LAST): safe_last,
        (False, FIRST): unsafe_first,
        (False, LAST): unsafe_last,
    }[(safe, attempt)]
    assert isinstance(outcome, Outcome)
    _check(decide(outcome, attempt, safe, POLICY, 0.0), expected)  # type: ignore[arg-type]


def test_table_covers_every_kind_and_status_class() -> None:
    kinds = {row[1].kind for row in TABLE}  # type: ignore[union-attr]
    assert kinds == {"status", "not_sent", "timeout", "lost", "too_large"}
    statuses = {row[1].status for row in TABLE}  # type: ignore[union-attr]
    assert {302, 307, 400, 401, 403, 404, 408, 409, 429, 500, 502, 503} <= statuses
    assert any(row[1].breaker_open for row in TABLE)  # type: ignore[union-attr]


def test_invariants_over_every_combination() -> None:
    """Resending happens only within max_retries, within max_retry_wait, and for an unsafe
    request only when the outcome proves it was not processed."""
    outcomes = [row[1] for row in TABLE]
    for outcome, safe, attempt, jitter in itertools.product(
        outcomes, (True, False), range(1, 6), (0.0, 0.5, 0.999)
    ):
        assert isinstance(outcome, Outcome)
        d = decide(outcome, attempt, safe, POLICY, jitter)
        if isinstance(d, Retry):
            assert attempt <= POLICY.max_retries
            assert 0 <= d.wait <= POLICY.max_retry_wait
            unprocessed = outcome.kind == "not_sent" or (
                outcome.kind == "status" and (outcome.status == 429 or outcome.breaker_open)
            )
            assert safe or unprocessed
        assert decide(outcome, attempt, safe, POLICY, jitter) == d  # pure


def test_breaker_fails_fast_with_circuit_open_wait_zero() -> None:
    policy = RetryPolicy(max_retries=3, max_retry_wait=10, circuit_open_wait=0)
    d = decide(breaker(), 1, True, policy, 0.0)
    assert isinstance(d, GiveUp) and "circuit_open_wait=0 fails fast" in d.decision


def test_breaker_wait_longer_than_max_retry_wait_is_named() -> None:
    policy = RetryPolicy(max_retries=3, max_retry_wait=30, circuit_open_wait=120)
    d = decide(breaker(), 1, False, policy, 0.0)
    assert d == GiveUp("not retried: circuit_open_wait 120 s exceeds max_retry_wait 30 s")


def test_backoff_longer_than_max_retry_wait_is_named() -> None:
    policy = RetryPolicy(max_retries=3, max_retry_wait=0.1)
    d = decide(Outcome("not_sent"), 1, True, policy, 0.0)
    assert d == GiveUp("not retried: backoff 0.25 s exceeds max_retry_wait 0.1 s")


def test_backoff_grows_and_is_capped() -> None:
    b = Backoff(base=0.5, cap=8.0)
    assert [b.wait(r, 0.0) for r in range(6)] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert [b.wait(r, 0.999999) for r in range(6)] == pytest.approx([0.5, 1, 2, 4, 8, 8], rel=1e-5)
    policy = RetryPolicy(max_retries=5, max_retry_wait=100)
    waits = [decide(Outcome("not_sent"), a, True, policy, 0.0) for a in (1, 2, 3)]
    assert [w.wait for w in waits if isinstance(w, Retry)] == [0.25, 0.5, 1.0]


# ---------------------------------------------------------------------------- Retry-After
@pytest.mark.parametrize(
    "headers,expected",
    [
        ({"Retry-After": "3"}, (3.0, "Retry-After")),
        ({"Retry-After": " 2.5 "}, (2.5, "Retry-After")),
        ({"Retry-After": "-4"}, (0.0, "Retry-After")),
        ({"Retry-After": "1e9"}, (1e9, "Retry-After")),
        ({"Retry-After": "inf"}, (float("inf"), "Retry-After")),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "soon"}, None),
        ({"Item-Retry-After": "30"}, (1800.0, "Item-Retry-After")),
        ({"Item-Retry-After": "x"}, None),
        ({"Retry-After": "1", "Item-Retry-After": "30"}, (1.0, "Retry-After")),
        ({}, None),
    ],
)
def test_read_retry_after(headers: dict[str, str], expected: tuple[float, str] | None) -> None:
    assert read_retry_after(headers) == expected


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert read_retry_after({"Retry-After": later}, now=now.timestamp()) == (90.0, "Retry-After")
    earlier = format_datetime(now - timedelta(seconds=90), usegmt=True)
    assert parse_retry_after({"Retry-After": earlier}, now=now.timestamp()) == 0.0
