"""Every limit a request property's description states in words is also a keyword the request
validator checks (issue 9, item 1).

The generator turns ``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum`` (numbers),
``minLength``/``maxLength`` (strings) and ``minItems``/``maxItems`` (lists) of request schemas into
checks made before a request is sent. A limit that is only written in prose ("1 to 100", "at most 50
items", "up to 500 characters") is not checked, so this test reads the description of every request
property, finds the limits it states and asserts that the property carries the same keyword with the
same value (a limit stated twice with different values fails too: the schema needs splitting).

Sentences that state no limit of the field itself are recognised by one rule, then by a short
allow-list:

* a period (days, months, hours...) stated on a date, a date-time or an object is a window between
  two fields or relative to today, which no keyword of one field can express; a number of days on a
  numeric field is a limit like any other and must be a keyword;
* ``ALLOWED`` lists the remaining sentences, each with its reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

#: (schema, property, a fragment of the sentence) -> why that sentence is not a limit of the
#: property's own value. Keep it short: a true limit belongs in a keyword, not here.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("InvoiceFileUploadV1Request", "base64_content", "up to 10 MB"): (
        "bounds the decoded file; its Base64 length depends on whether Ozon's MB is 10^6 or 2^20"
        " bytes and on line breaks, so no maxLength is exact (one too low refuses valid files)"
    ),
    ("PolygonCreateV1Request", "coordinates", "at least 3 points"): (
        "counts points inside a string that holds nested JSON arrays; a string keyword cannot"
    ),
    ("ProductImportPricesV1RequestPrice", "price", "minimum margin"): (
        "how far old_price must exceed price in each price band: a rule between two fields"
    ),
    ("ProductImportV3RequestItem", "complex_attributes", "at most 5 videos"): (
        "counts videos inside the values of one complex attribute, not entries of this list"
    ),
    ("ProductImportV3RequestItem", "images", "up to 29 if it is set"): (
        "maxItems 30 is the keyword; 29 applies only when primary_image is also sent, a rule"
        " between two fields"
    ),
    ("ProductImportV3RequestItem", "weight", "1000 kg or the equivalent"): (
        "the bound is 1000 kg converted into weight_unit, so it depends on another field"
    ),
}

NUM = r"(\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?)"
UNIT = r"(?:\s*(?:%|per\s?cent))?(?:\s+([A-Za-z][A-Za-z-]*))?"
UPPER_WORDS = (
    r"at most|up to|no more than|not more than|not exceeding|must not exceed|may not exceed|"
    r"cannot exceed|no longer than|maximum(?: value)?(?: is| of)?:?|max\.?|<=|\u2264"
)
LOWER_WORDS = (
    r"at least|no less than|not less than|no fewer than|minimum(?: value)?(?: is| of)?:?|min\.?|"
    r"starting (?:at|from)|>=|\u2265"
)
GT_WORDS = r"more than|greater than|above"
LT_WORDS = r"less than|fewer than|below"
RANGE = re.compile(
    rf"(?:\b(?:from|between)\s+)?{NUM}\s*(?:to|and|\u2013|\u2014|-|\.\.)\s*{NUM}{UNIT}", re.I
)
BOUND = re.compile(
    rf"(?<![\w-])(?P<words>{UPPER_WORDS}|{LOWER_WORDS}|{GT_WORDS}|{LT_WORDS})\s+"
    rf"(?:(?:a|the)\s+)?{NUM}{UNIT}",
    re.I,
)
CHARACTERS = {
    "character",
    "characters",
    "symbol",
    "symbols",
    "letter",
    "letters",
    "digit",
    "digits",
}
PERIODS = {
    "second",
    "seconds",
    "minute",
    "minutes",
    "hour",
    "hours",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "calendar",
}
NUMERIC = {"integer", "number"}


@dataclass(frozen=True)
class Bound:
    """One limit stated in a sentence: ``side`` is ``min``/``max``, ``exclusive`` for "more
    than"/"less than"."""

    side: str
    value: float
    exclusive: bool
    unit: str
    sentence: str


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def sentences(text: str) -> list[str]:
    # a full stop ends a sentence unless it is part of a number ("0.5") or of "/v1/..."
    parts = re.split(r"(?<=[.;!?])\s+(?=[A-Z`(])|\n+", text)
    return [p.strip() for p in parts if p.strip()]


def bounds(text: str) -> list[Bound]:
    """The limits a description states, in the words this project uses for them."""
    out: list[Bound] = []
    for sentence in sentences(text):
        taken: list[tuple[int, int]] = []
        for m in RANGE.finditer(sentence):
            low, high = _number(m.group(1)), _number(m.group(2))
            joined = sentence[m.start(1) : m.end(2)]
            if low >= high or re.search(r"\d-\d{2}-", sentence[m.start(1) : m.end(2) + 4]):
                continue  # "2024-01-31" is a date, "8-3" no range
            if "-" in joined and not re.match(r"^\d+\s*-\s*\d+$", joined):
                continue
            before = sentence[max(0, m.start() - 12) : m.start()].lower()
            if "-" in joined and re.search(r"[a-z]$", before):
                continue  # "ISO 3166-1", "UTF-8"
            unit = (m.group(3) or "").lower()
            out.append(Bound("min", low, False, unit, sentence))
            out.append(Bound("max", high, False, unit, sentence))
            taken.append((m.start(), m.end()))
        for m in BOUND.finditer(sentence):
            if any(a <= m.start(2) < b for a, b in taken):
                continue
            words = m.group("words").lower()
            unit = (m.group(3) or "").lower()
            value = _number(m.group(2))
            if re.fullmatch(GT_WORDS, words):
                out.append(Bound("min", value, True, unit, sentence))
            elif re.fullmatch(LT_WORDS, words):
                out.append(Bound("max", value, True, unit, sentence))
            elif re.match(LOWER_WORDS, words):
                out.append(Bound("min", value, False, unit, sentence))
            else:
                out.append(Bound("max", value, False, unit, sentence))
    return out


# ----------------------------------------------------------------------- the request properties
@dataclass
class Prop:
    schema: str
    name: str
    node: dict[str, Any]  # the property as written (keywords sit here)
    target: dict[str, Any]  # the property with its $ref / nullable anyOf resolved


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while seen < 20:
        seen += 1
        if "$ref" in node:
            node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
            continue
        alts = [a for a in node.get("anyOf") or [] if a.get("type") != "null"]
        if len(alts) == 1:
            node = alts[0]
            continue
        break
    return node


def kind(node: dict[str, Any]) -> str:
    ty = node.get("type")
    types = [t for t in (ty if isinstance(ty, list) else [ty]) if t and t != "null"]
    if not types:
        return "object" if "properties" in node else "any"
    return str(types[0])


def request_properties(spec: dict[str, Any]) -> Iterator[Prop]:
    from codegen.specdiff.names import schema_sides

    schemas = spec["components"]["schemas"]
    for name in sorted(schema_sides(spec)["request"]):

        def walk(owner: str, node: dict[str, Any]) -> Iterator[Prop]:
            for prop, ps in (node.get("properties") or {}).items():
                yield Prop(owner, prop, ps, _resolve(spec, ps))
                if "properties" in ps:  # an inline object
                    yield from walk(f"{owner}.{prop}", ps)

        yield from walk(name, schemas[name])


def _keyword(b: Bound, k: str) -> tuple[str, ...]:
    """The keywords that state ``b`` for a property of kind ``k`` ("" when none can)."""
    chars = b.unit in CHARACTERS
    if k in NUMERIC and not chars:
        if b.exclusive:
            return ("exclusiveMinimum",) if b.side == "min" else ("exclusiveMaximum",)
        return ("minimum",) if b.side == "min" else ("maximum",)
    if k == "string" and chars:
        return ("minLength",) if b.side == "min" else ("maxLength",)
    if k == "array" and not chars:
        return ("minItems",) if b.side == "min" else ("maxItems",)
    if k == "array" and chars:
        return ("items.minLength",) if b.side == "min" else ("items.maxLength",)
    return ()


def _value(spec: dict[str, Any], p: Prop, keyword: str) -> Any:
    if keyword.startswith("items."):
        items = _resolve(spec, p.target.get("items") or {})
        return items.get(keyword[len("items.") :], p.target.get("items", {}).get(keyword[6:]))
    return p.node.get(keyword, p.target.get(keyword))


def _holds(b: Bound, keyword: str, have: Any) -> bool:
    if have is None:
        return False
    want = b.value
    if b.exclusive and keyword in ("minimum", "maximum", "minLength", "maxLength"):
        want = b.value + 1 if b.side == "min" else b.value - 1
    if b.exclusive and keyword in ("minItems", "maxItems"):
        want = b.value + 1 if b.side == "min" else b.value - 1
    return float(have) == float(want)


def problems(spec: dict[str, Any], allowed: dict[tuple[str, str, str], str]) -> list[str]:
    out: list[str] = []
    used: set[tuple[str, str, str]] = set()
    for p in request_properties(spec):
        text = p.node.get("description") or ""
        k = kind(p.target)
        for b in bounds(text):
            hit = next(
                (key for key in allowed if key[:2] == (p.schema, p.name) and key[2] in b.sentence),
                None,
            )
            if hit:
                used.add(hit)
                continue
            if b.unit in PERIODS and k not in NUMERIC:
                continue  # a window on a date or a filter, not a keyword of one field
            keywords = _keyword(b, k)
            where = f"{p.schema}.{p.name} ({k})"
            if not keywords:
                out.append(
                    f"{where}: no keyword can state {b.side} {b.value:g} {b.unit!r}: {b.sentence!r}"
                )
                continue
            have = {kw: _value(spec, p, kw) for kw in keywords}
            if b.exclusive and b.side == "min" and k == "integer":
                have["minimum"] = p.node.get("minimum", p.target.get("minimum"))
            if b.exclusive and b.side == "max" and k == "integer":
                have["maximum"] = p.node.get("maximum", p.target.get("maximum"))
            if not any(_holds(b, kw, v) for kw, v in have.items()):
                out.append(f"{where}: says {b.side} {b.value:g} ({b.sentence!r}) but has {have}")
    for key in sorted(set(allowed) - used):
        out.append(f"allow-list entry matches nothing (remove it): {key}")
    return out


# ----------------------------------------------------------------------------------- the tests
def test_every_limit_a_request_description_states_is_a_keyword(spec: dict[str, Any]) -> None:
    found = problems(spec, ALLOWED)
    assert not found, "\n".join(found[:40]) + f"\n... {len(found)} in all"


NUMBER_KEYWORDS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
KEYWORD_TYPES = {
    **{k: {"integer", "number"} for k in NUMBER_KEYWORDS},
    "minLength": {"string"},
    "maxLength": {"string"},
    "minItems": {"array"},
    "maxItems": {"array"},
}


def test_limit_keywords_fit_the_type_and_are_json_schema(spec: dict[str, Any]) -> None:
    """A limit keyword on a node of another type checks nothing (``maximum: 1000`` on a string
    cursor), Ozon's ``maxSize`` is no JSON Schema keyword, an identifier has no upper bound
    (``maximum: 1000`` on a delivery method id refuses every real id), and a list of values cannot
    need more entries than there are values (``minItems: 28`` on the 14 turnover grades)."""
    bad: list[str] = []

    def walk(node: Any, where: str) -> None:
        if not isinstance(node, dict):
            return
        ty = node.get("type")
        types = set(ty if isinstance(ty, list) else [ty]) - {None, "null"}
        for kw, allowed in KEYWORD_TYPES.items():
            if kw in node and not types & allowed:
                bad.append(f"{where}: {kw} on {sorted(types) or 'untyped'}")
        values = (node.get("items") or {}).get("enum")
        if values and node.get("minItems", 0) > len(values):
            bad.append(f"{where}: minItems {node['minItems']} but only {len(values)} values exist")
        for kw in ("maxSize", "minSize"):
            if kw in node:
                bad.append(f"{where}: {kw} is not a JSON Schema keyword")
        for prop, ps in (node.get("properties") or {}).items():
            if re.search(r"(^|_)ids?$", prop):
                for n in (ps, ps.get("items") or {}):
                    if "maximum" in n or "exclusiveMaximum" in n:
                        bad.append(f"{where}/properties/{prop}: an identifier has a maximum")
            walk(ps, f"{where}/properties/{prop}")
        for key in ("items", "additionalProperties"):
            walk(node.get(key), f"{where}/{key}")
        for key in ("anyOf", "oneOf", "allOf"):
            for i, alt in enumerate(node.get(key) or []):
                walk(alt, f"{where}/{key}/{i}")

    for name, schema in spec["components"]["schemas"].items():
        walk(schema, f"#/components/schemas/{name}")
    assert not bad, bad


def test_the_allow_list_gives_a_reason_for_each_entry() -> None:
    for key, reason in ALLOWED.items():
        assert len(reason.split()) >= 5, key


def _one_property(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "paths": {
            "/v1/x": {
                "post": {
                    "operationId": "x_v1",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/XV1Request"}
                            }
                        }
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
        "components": {
            "schemas": {"XV1Request": {"type": "object", "properties": {"field": node}}}
        },
    }


@pytest.mark.parametrize(
    "node",
    [
        {"type": "array", "items": {"type": "string"}, "description": "Codes, at most 100 items."},
        {"type": "array", "items": {"type": "string"}, "description": "Up to 20 per request."},
        {"type": "integer", "description": "Page size, 1 to 1000."},
        {"type": "integer", "description": "Page size, from 1 to 1000.", "maximum": 1000},
        {"type": "integer", "description": "Default 50, maximum 200."},
        {"type": "integer", "description": "Number of days, at most 30 days."},
        {"type": "string", "description": "Comment, no more than 500 characters."},
        {"type": "string", "description": "At least 2 characters.", "maxLength": 2},
        {"type": "integer", "description": "Between 20 and 100.", "minimum": 20},
        {"type": "integer", "description": "Quantity above 0 and at most 1,000,000."},
        {"type": "number", "description": "Coefficient from 0.5 to 1.2.", "minimum": 0.5},
        {"type": "array", "items": {"type": "integer"}, "description": "Maximum 7.", "maxItems": 6},
    ],
)
def test_a_limit_stated_only_in_words_is_found(node: dict[str, Any]) -> None:
    assert problems(_one_property(node), {})


@pytest.mark.parametrize(
    "node",
    [
        {
            "type": "array",
            "items": {"type": "string"},
            "description": "At most 100 items.",
            "maxItems": 100,
        },
        {"type": "integer", "description": "Page size, 1 to 1000.", "minimum": 1, "maximum": 1000},
        {
            "type": "integer",
            "description": "Above 0, at most 1,000,000.",
            "minimum": 1,
            "maximum": 1000000,
        },
        {"type": "string", "description": "Up to 500 characters.", "maxLength": 500},
        {
            "type": "string",
            "format": "date",
            "description": "Start of a period of at most 31 days.",
        },
        {"type": "string", "description": "Date in the format 2024-01-31, ISO 3166-1 country."},
        {"type": "integer", "description": "Identifier of a warehouse."},
    ],
)
def test_a_limit_stated_as_a_keyword_passes(node: dict[str, Any]) -> None:
    assert problems(_one_property(node), {}) == []


def test_the_sentence_parser() -> None:
    (lo, hi) = bounds("Number of rows, from 1 to 1000.")
    assert (lo.side, lo.value, hi.side, hi.value) == ("min", 1, "max", 1000)
    (b,) = bounds("Barcode, up to 100 characters.")
    assert (b.side, b.value, b.unit) == ("max", 100, "characters")
    assert bounds("Allowed range 0.5 to 1.2.")[1].value == 1.2
    assert bounds("Two-letter ISO 3166-1 code; UTF-8 text.") == []
    assert bounds("Date, 2024-01-31.") == []
