"""Generated models against the spec's examples, and against what Ozon really sends."""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any

import msgspec
import pytest

from ozon_async import OPERATIONS
from ozon_async._codec import build_request, decoder_for
from tests.conftest import load_spec

SCHEMAS = load_spec()["components"]["schemas"]


def _media(op_key: str, part: str) -> dict[str, Any]:
    method, path = op_key.split(" ", 1)
    op = load_spec()["paths"][path][method.lower()]
    if part == "request":
        return dict(op["requestBody"]["content"]["application/json"])
    (media,) = op["responses"]["200"]["content"].values()
    return dict(media)


def _same(expected: Any, actual: Any, path: str = "$", answer: bool = False) -> list[str]:
    """Differences between an example and what came back, allowing the representation changes
    the SDK makes on purpose: numeric strings become numbers, timestamps are re-encoded, nulls
    and absent fields are the same thing; in an ``answer``, so are an empty list or map and an absent
    one (a model's empty list is its default, left out when it is encoded again)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        out: list[str] = []
        for k, v in expected.items():
            if v is None or (v == "" and k not in actual):
                # an empty string may stand for "no value" (x-ozon-empty-as-null), like null
                continue
            if answer and k not in actual and isinstance(v, (list, dict)) and not v:
                continue
            if k not in actual:
                out.append(f"{path}.{k}: lost")
                continue
            out += _same(v, actual[k], f"{path}.{k}", answer)
        for k in actual:
            if k not in expected:
                out.append(f"{path}.{k}: appeared")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out += _same(e, a, f"{path}[{i}]", answer)
        return out
    if expected == actual and type(expected) is type(actual):
        return []
    if isinstance(expected, bool) or isinstance(actual, bool):
        if str(expected).lower() == str(actual).lower():
            return []
        return [f"{path}: {expected!r} != {actual!r}"]
    if isinstance(expected, (int, float, str)) and isinstance(actual, (int, float)):
        try:
            if float(expected) == float(actual):
                return []
        except ValueError:
            pass
    if isinstance(expected, (int, float)) and isinstance(actual, str):
        try:
            if float(actual) == float(expected):
                return []
        except ValueError:
            pass
    if isinstance(expected, str) and isinstance(actual, str):
        for kind in (datetime, date):
            try:
                e = msgspec.convert(expected, kind)
                a = msgspec.convert(actual, kind)
            except msgspec.ValidationError:
                continue
            if e == a:
                return []
    return [f"{path}: {expected!r} != {actual!r}"]


JSON_OPS = [k for k, op in OPERATIONS.items() if op.response_content_type == "application/json"]
# JSON request bodies (multipart uploads are covered by tests/test_request_shapes.py)
BODY_OPS = [
    k
    for k, op in OPERATIONS.items()
    if op.request_type_ref is not None and op.request_content_type == "application/json"
]


def test_registry_covers_the_spec() -> None:
    spec_ops = {f"{m.upper()} {p}" for p, item in load_spec()["paths"].items() for m in item}
    assert set(OPERATIONS) == spec_ops
    for key, op in OPERATIONS.items():
        assert op.key == key
        assert op.group and op.name.endswith(f"_{op.path.split('/')[1]}")


@pytest.mark.parametrize("key", BODY_OPS)
def test_request_example_round_trips(key: str) -> None:
    op = OPERATIONS[key]
    media = _media(key, "request")
    example = copy.deepcopy(media["example"])
    request = build_request(key, op.request_type, example)
    assert isinstance(request, op.request_type)
    sent = msgspec.json.decode(msgspec.json.encode(request))
    assert not _same(media["example"], sent), _same(media["example"], sent)[:10]


@pytest.mark.parametrize("key", JSON_OPS)
def test_response_example_decodes_without_loss(key: str) -> None:
    op = OPERATIONS[key]
    media = _media(key, "response")
    raw = msgspec.json.encode(media["example"])
    decoded = decoder_for(op.response_type).decode(raw)
    assert isinstance(decoded, op.response_type)
    back = msgspec.to_builtins(decoded)
    lost = _same(media["example"], back, answer=True)
    assert not lost, lost[:10]


# ---------------------------------------------------------------------------- robustness
def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while True:
        if "$ref" in node:
            node = SCHEMAS[node["$ref"].rsplit("/", 1)[1]]
        elif "anyOf" in node and "properties" not in node:
            node = next(a for a in node["anyOf"] if a.get("type") != "null")
        else:
            return node


_NULL_TOGGLE = [0]  # "nulls" replaces every other scalar field, so the rest can be checked


def _string_types(node: dict[str, Any]) -> bool:
    t = node.get("type")
    return {x for x in (t if isinstance(t, list) else [t]) if x != "null"} == {"string"}


def _mutate(value: Any, node: dict[str, Any], how: str, in_list: bool = False) -> Any:
    """Return a copy of an example changed the way a real server might change it: a field's
    value replaced by null, an integer sent as a string, an enum value the spec does not know,
    or fields the spec does not know."""
    node = _resolve(node)
    if isinstance(value, dict):
        props = node.get("properties")
        if props is None:
            return value  # a free-form map: nothing is "unknown" in it
        out = {k: _mutate(v, props.get(k, {}), how) for k, v in value.items()}
        if how == "unknown-fields":
            out["__new_field__"] = {"nested": [1, "two", None]}
        return out
    if isinstance(value, list):
        return [_mutate(v, node.get("items") or {}, how, in_list=True) for v in value]
    if how == "nulls" and not in_list:
        _NULL_TOGGLE[0] ^= 1
        return None if _NULL_TOGGLE[0] else value
    if how == "numeric-strings" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if how == "new-enum-values" and node.get("enum") and _string_types(node):
        return "SOME_NEW_VALUE"
    return value


def _known_values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [v for x in value.values() for v in _known_values(x)]
    if isinstance(value, list):
        return [v for x in value for v in _known_values(x)]
    return [value]


@pytest.mark.parametrize("how", ["nulls", "numeric-strings", "new-enum-values", "unknown-fields"])
def test_responses_survive_what_ozon_really_sends(how: str) -> None:
    failures = []
    for key in JSON_OPS:
        op = OPERATIONS[key]
        media = _media(key, "response")
        schema = media["schema"]
        mutated = _mutate(media["example"], schema, how)
        try:
            decoded = decoder_for(op.response_type).decode(msgspec.json.encode(mutated))
        except msgspec.ValidationError as exc:
            failures.append(f"{key}: {exc}")
            continue
        back = msgspec.to_builtins(decoded)
        expected = mutated
        if how == "unknown-fields":
            expected = _mutate(media["example"], schema, "none")
        diff = _same(expected, back, answer=True)
        if diff:
            failures.append(f"{key}: {diff[:3]}")
    assert not failures, failures[:10]


def test_new_enum_value_is_kept_verbatim() -> None:
    from ozon_async.types import FbsPosting

    posting = msgspec.json.decode(
        b'{"posting_number": "1-2-3", "status": "brand_new_status", "order_id": "42"}',
        type=FbsPosting,
        strict=False,
    )
    assert posting.status == "brand_new_status"
    assert posting.order_id == 42


def test_null_in_place_of_every_field_of_a_posting() -> None:
    from ozon_async.types import FbsPosting

    fields = [f for f in FbsPosting.__struct_fields__]
    raw = msgspec.json.encode({f: None for f in fields})
    posting = decoder_for(FbsPosting).decode(raw)
    # scalars and objects stay None; lists and maps become empty ones, never None
    assert all(getattr(posting, f) in (None, [], {}) for f in fields)
    assert posting.products == [] and posting.status is None


def test_answer_lists_and_maps_are_never_none() -> None:
    """Absent or null, a list or map in an answer decodes to an empty one (typed without
    ``| None``), so user code iterates it as it is; a scalar absent stays None."""
    import typing

    from ozon_async.types import WarehouseListV2Response

    for raw in (b"{}", b'{"warehouses": null}', b'{"warehouses": []}'):
        page = decoder_for(WarehouseListV2Response).decode(raw)
        assert page.warehouses == [] and page.cursor is None
    assert WarehouseListV2Response().warehouses == []
    assert WarehouseListV2Response().warehouses is not WarehouseListV2Response().warehouses
    hints = typing.get_type_hints(WarehouseListV2Response)
    assert "None" in repr(hints["warehouses"])  # null is accepted on the wire ...
    # ... while no answer model declares a plain list or map as Optional to type checkers
    import importlib
    import re

    import ozon_async.types as types_pkg
    from ozon_async._models import Model, RequestModel

    optional = re.compile(r"^(list|dict)\[.*\] \| None$")
    checked = 0
    for name in types_pkg.__all__:
        module = importlib.import_module(f"ozon_async.types.{types_pkg._MODULE_OF[name]}")
        cls = getattr(module, name)
        if isinstance(cls, type) and issubclass(cls, Model) and not issubclass(cls, RequestModel):
            for field, annotation in cls.__annotations__.items():
                assert not optional.match(str(annotation)), f"{name}.{field}: {annotation}"
                checked += str(annotation).startswith(("AnswerList[", "AnswerDict["))
    assert checked > 500


def test_an_int64_sent_as_empty_string_decodes_as_null() -> None:
    """`x-ozon-empty-as-null`: Ozon's own example of the v4 exemplar status sends
    ``"exemplar_id": ""`` for an exemplar without an identifier yet."""
    import json

    from ozon_async import OPERATIONS
    from ozon_async._codec import decoder_for
    from tests.conftest import load_spec

    key = "POST /v4/fbs/posting/product/exemplar/status"
    media = load_spec()["paths"][key.split(" ", 1)[1]]["post"]["responses"]["200"]["content"]
    # a copy: the parsed spec is shared by every test of the session
    example = json.loads(json.dumps(media["application/json"]["example"]))
    assert example["products"][0]["exemplars"][0]["exemplar_id"] == ""
    answer = decoder_for(OPERATIONS[key].response_type).decode(json.dumps(example))
    assert answer.products[0].exemplars[0].exemplar_id is None
    example["products"][0]["exemplars"][0]["exemplar_id"] = "1234567890123"
    answer = decoder_for(OPERATIONS[key].response_type).decode(json.dumps(example))
    assert answer.products[0].exemplars[0].exemplar_id == 1234567890123


def test_models_stay_out_of_the_cyclic_collector() -> None:
    """Decoding a page of postings creates thousands of models; none is tracked by the cyclic GC
    (the base sets gc=False), while the lists inside them still are."""
    import gc

    from ozon_async._codec import decoder_for
    from ozon_async.types import PostingFbsListV3Response, PostingFbsListV4Request

    body = b'{"result": {"postings": [{"posting_number": "1-1", "products": [{"sku": 1}]}]}}'
    answer = decoder_for(PostingFbsListV3Response).decode(body)
    assert answer.result is not None and answer.result.postings
    posting = answer.result.postings[0]
    assert not gc.is_tracked(answer) and not gc.is_tracked(posting)
    assert gc.is_tracked(answer.result.postings)
    assert not PostingFbsListV4Request.__struct_config__.gc
