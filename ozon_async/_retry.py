"""When to resend a request, and how long to wait first."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: ``base * 2**attempt`` capped at ``cap``, times 0.5-1.0."""

    base: float = 0.5
    cap: float = 8.0

    def delay(self, attempt: int, rand: random.Random | None = None) -> float:
        r: float = (rand or random).random()
        return float(min(self.cap, self.base * (2**attempt)) * (0.5 + r / 2))


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or Ozon's
    ``Item-Retry-After`` (minutes); ``None`` when neither is present or readable."""
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            current = now or datetime.now(timezone.utc)
            return max(0.0, (when - current).total_seconds())
    item = headers.get("Item-Retry-After")
    if item:
        try:
            return max(0.0, float(item.strip()) * 60.0)
        except ValueError:
            return None
    return None


def is_circuit_open(message: str) -> bool:
    """Ozon's per-method breaker answers with a message containing "Circle is open"."""
    text = message.lower()
    return "circle is open" in text or "circuit is open" in text
