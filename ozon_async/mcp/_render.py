"""Answers an assistant can read: JSON, money as strings, trimmed to a size budget.

Money rule: Ozon sends amounts as JSON numbers in many answers (``"price": 1200.5``). A number whose
key names an amount is rendered as a string with its exact decimal text (``"1200.50"`` stays
``"1200.50"``, no binary float in between): the key, split into words at ``_`` and camelCase humps,
has one of :data:`MONEY_WORDS` and none of :data:`NOT_MONEY_WORDS` (``commission_percent``,
``photos_amount`` and ``price_index_value`` stay numbers). Other numbers stay numbers (decimals
exactly as Ozon wrote them). Dates are the ISO 8601 strings Ozon sends; values the SDK builds
(request previews) are encoded as ISO 8601 too.

Trimming: when the JSON text is over the budget, the largest list is cut to the items that fit
(repeated while needed), then over-long strings are shortened; a ``trimmed`` object says what was
cut (path, items kept of how many) and how to get the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from functools import lru_cache
from typing import Any

import msgspec

__all__ = [
    "DEFAULT_BUDGET",
    "MONEY_WORDS",
    "NOT_MONEY_WORDS",
    "decode_exact",
    "dumps",
    "is_money_key",
    "money_as_strings",
    "render",
]

#: Default size budget of one tool answer, in bytes of UTF-8 JSON.
DEFAULT_BUDGET = 40_000
#: The smallest budget accepted (below it even the note would not fit).
MIN_BUDGET = 2_000

MONEY_WORDS = frozenset(
    {
        "price",
        "amount",
        "cost",
        "commission",
        "payout",
        "fee",
        "compensation",
        "payment",
        "bonus",
        "accruals",
        "gmv",
        "profit",
        "loan",
        "transfer",
        "coinvestment",
        "charge",
        "vat",
        "sum",
        "acquiring",
        "refunds",
        "balance",
        "revenue",
        "money",
    }
)
NOT_MONEY_WORDS = frozenset(
    {
        "percent",
        "percentage",
        "ratio",
        "rate",
        "count",
        "qty",
        "quantity",
        "id",
        "index",
        "coefficient",
        "factor",
        "boost",
        "weight",
        "volume",
        "comments",
        "likes",
        "dislikes",
        "photos",
        "videos",
        "stock",
        "position",
        "rating",
        "conversion",
        "number",
        "currency",
        "code",
        "date",
        "time",
        "at",
    }
)

_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_ENCODER = msgspec.json.Encoder(decimal_format="number")


@lru_cache(maxsize=4096)
def is_money_key(key: str) -> bool:
    """Whether a number under ``key`` is an amount of money (see the module's rule)."""
    words = {w for w in re.split(r"[_\-\s.]+", _HUMP.sub("_", key).lower()) if w}
    return bool(words & MONEY_WORDS) and not (words & NOT_MONEY_WORDS)


def decode_exact(data: bytes) -> Any:
    """Decode JSON keeping every decimal number exact (as :class:`~decimal.Decimal`)."""
    return _DECODER.decode(data)


def _money_text(value: int | Decimal | float) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def money_as_strings(value: Any, key: str | None = None) -> Any:
    """A copy of ``value`` whose money numbers are strings (the module's rule)."""
    if isinstance(value, dict):
        return {k: money_as_strings(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [money_as_strings(v, key) for v in value]
    if (
        key is not None
        and isinstance(value, (int, float, Decimal))
        and not isinstance(value, bool)
        and is_money_key(key)
    ):
        return _money_text(value)
    return value


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON (decimals as numbers, dates ISO 8601)."""
    return _ENCODER.encode(value)


# ---------------------------------------------------------------------------------------------
# trimming


def _lists(node: Any, path: str) -> Iterator[tuple[str, list[Any]]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _lists(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        if node:
            yield path or "$", node
        for i, v in enumerate(node):
            if isinstance(v, (dict, list)):
                yield from _lists(v, f"{path}[{i}]")


def _strings(node: Any, path: str) -> Iterator[tuple[str, Any, Any, str]]:
    """(path, container, key, string) for every string value."""
    if isinstance(node, dict):
        for k, v in node.items():
            p = f"{path}.{k}" if path else str(k)
            if isinstance(v, str):
                yield p, node, k, v
            else:
                yield from _strings(v, p)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            p = f"{path}[{i}]"
            if isinstance(v, str):
                yield p, node, i, v
            else:
                yield from _strings(v, p)


def _cut_lists(doc: Any, limit: int, cuts: list[dict[str, Any]]) -> int:
    """Shorten the largest lists until ``doc`` encodes within ``limit`` bytes; its size."""
    size = len(dumps(doc))
    for _ in range(64):  # each round empties or shortens one list
        if size <= limit:
            break
        candidates = [(len(dumps(lst)), path, lst) for path, lst in _lists(doc, "")]
        if not candidates:
            break
        lst_size, path, lst = max(candidates, key=lambda c: c[0])
        base = size - lst_size
        item_sizes = [len(dumps(v)) for v in lst]
        keep, used = 0, 2  # "[" and "]"
        for n, s in enumerate(item_sizes):
            extra = s + (1 if n else 0)
            if base + used + extra > limit:
                break
            used += extra
            keep += 1
        if keep == len(lst):  # cannot happen unless sizes lie; stop rather than loop
            break
        total = len(lst)
        del lst[keep:]
        prior = next((c for c in cuts if c["path"] == path), None)
        if prior is None:
            cuts.append({"path": path, "kept": keep, "of": total})
        else:
            prior["kept"] = keep
        size = len(dumps(doc))
    return size


def _cut_strings(doc: Any, limit: int, cuts: list[dict[str, Any]]) -> int:
    size = len(dumps(doc))
    for _ in range(64):
        if size <= limit:
            break
        strings = list(_strings(doc, ""))
        if not strings:
            break
        path, container, key, text = max(strings, key=lambda s: len(s[3].encode()))
        over = size - limit
        raw = text.encode()
        keep_bytes = max(0, len(raw) - over - 64)
        if keep_bytes >= len(raw):
            break
        kept = raw[:keep_bytes].decode("utf-8", errors="ignore")
        container[key] = f"{kept}…[{len(text) - len(kept)} characters cut]"
        cuts.append({"path": path, "characters_kept": len(kept), "of": len(text)})
        size = len(dumps(doc))
    return size


def render(payload: dict[str, Any], budget: int, how_to_page: str | None = None) -> str:
    """``payload`` as JSON text within ``budget`` bytes; a ``trimmed`` note says what was cut.

    ``payload`` is not changed.
    """
    text = dumps(payload)
    if len(text) <= budget:
        return text.decode()
    original = len(text)
    reserve = 600 + (len(how_to_page.encode()) if how_to_page else 0)
    for _ in range(4):
        doc: dict[str, Any] = _DECODER.decode(text)
        cuts: list[dict[str, Any]] = []
        limit = max(budget - reserve, 0)
        size = _cut_lists(doc, limit, cuts)
        if size > limit:
            _cut_strings(doc, limit, cuts)
        note: dict[str, Any] = {
            "budget_bytes": budget,
            "full_answer_bytes": original,
            "cut": cuts,
        }
        note["how_to_get_the_rest"] = how_to_page or (
            "ask for less: a smaller limit, a narrower filter, or fewer ids per call"
        )
        doc["trimmed"] = note
        out = dumps(doc)
        if len(out) <= budget:
            return out.decode()
        reserve += len(out) - budget + 200
    return out.decode()  # the note itself is over a tiny budget; MIN_BUDGET prevents this
