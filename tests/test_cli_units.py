"""Unit tests of the command line's parts: body parsing, CSV flattening, names and lookups."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from ozon_async import OPERATIONS, RequestValidationError
from ozon_async.cli import _ops
from ozon_async.cli._call import prepare_body
from ozon_async.cli._input import BodyError, parse_body, parse_pair
from ozon_async.cli._output import CsvWriter, JsonLinesWriter, cell, flatten


# ---------------------------------------------------------------------- pairs and bodies
def test_pairs_build_nested_bodies() -> None:
    body = parse_body(
        None,
        [
            "filter.since=2026-01-01T00:00:00Z",
            "limit:=100",
            'filter.statuses:=["delivered"]',
            "stocks[0].offer_id=A1",
            "stocks[0].stock:=3",
            "stocks[1].offer_id=B2",
            r"odd\.key=1",
            "empty=",
            "eq=a=b",
        ],
    )
    assert body == {
        "filter": {"since": "2026-01-01T00:00:00Z", "statuses": ["delivered"]},
        "limit": 100,
        "stocks": [{"offer_id": "A1", "stock": 3}, {"offer_id": "B2"}],
        "odd.key": "1",
        "empty": "",
        "eq": "a=b",
    }


def test_pair_values_from_files(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_text("привет")
    (tmp_path / "v.json").write_text('{"a": [1]}')
    assert parse_pair(f"name=@{tmp_path / 's.txt'}") == (["name"], "привет")
    assert parse_pair(f"obj:=@{tmp_path / 'v.json'}") == (["obj"], {"a": [1]})


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["a=1", "a=2"], "given twice"),
        (["a.b=1", "a=2"], "would replace `a.b`"),
        (["a=1", "a.b=2"], "would change `a`"),
        (["a[1]=x"], "skips positions"),
        (["a[x]=1"], "list positions are written"),
        (["a..b=1"], "empty name"),
        (["=1"], "expected key=value"),
        (["novalue"], "expected key=value"),
        (["a:=tru"], "not valid JSON"),
    ],
)
def test_bad_pairs_are_refused(pairs: list[str], message: str) -> None:
    with pytest.raises(BodyError, match=None) as err:
        parse_body(None, pairs)
    assert message in str(err.value)


def test_json_body_with_pairs_on_top() -> None:
    body = parse_body('{"limit": 5, "filter": {"to": "x"}}', ["filter.since=y", "limit:=7"])
    assert body == {"limit": 7, "filter": {"to": "x", "since": "y"}}
    with pytest.raises(BodyError, match="must be a JSON object"):
        parse_body("[1]", [])
    with pytest.raises(BodyError, match="is already set to a non-object"):
        parse_body('{"filter": 5}', ["filter.since=y"])


def test_stdin_is_read_only_when_piped(tmp_path: Path) -> None:
    piped = tmp_path / "in.json"
    piped.write_text('{"limit": 1}')
    with piped.open("rb") as f:
        assert parse_body(None, [], f) == {"limit": 1}
    with piped.open("rb") as f:  # pairs given: stdin is not consumed
        assert parse_body(None, ["a=1"], f) == {"a": "1"}
    with open("/dev/null", "rb") as f:  # a character device is never waited on
        assert parse_body(None, [], f) is None
    with piped.open("rb") as f:
        assert parse_body("-", [], f) == {"limit": 1}


# ---------------------------------------------------------------------- validation
def test_prepare_body_validates_like_a_typed_call() -> None:
    op = OPERATIONS["POST /v4/posting/fbs/list"]
    body = {"limit": "5", "filter": {"since": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"}}
    prepared = prepare_body(op, body)
    assert (prepared.path, prepared.content_type) == ("/v4/posting/fbs/list", None)
    assert prepared.body is not None
    assert json.loads(prepared.body)["limit"] == 5
    with pytest.raises(RequestValidationError) as err:
        prepare_body(op, {**body, "filter": {**body["filter"], "statusez": []}})
    assert err.value.field == "filter.statusez"
    with pytest.raises(RequestValidationError) as err:
        prepare_body(op, body, {"limit": 1})  # extra_body may not override a field
    assert err.value.field == "extra_body"
    assert json.loads(prepare_body(op, body, {"new_flag": True}).body or b"")["new_flag"] is True
    get = OPERATIONS["GET /v1/actions"]
    assert prepare_body(get, None).body is None
    with pytest.raises(RequestValidationError):
        prepare_body(get, {"a": 1})


def _struct_info(info: Any) -> Any:
    import msgspec.inspect as mi

    while isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(info, mi.StructType):
        return info
    if isinstance(info, mi.UnionType):
        for t in info.types:
            found = _struct_info(t)
            if found is not None:
                return found
    return None


def _json_names(type_: Any, attrs: tuple[str, ...]) -> list[str]:
    """The JSON names along a path of model attribute names (``with_`` -> ``with``)."""
    import msgspec.inspect as mi

    info: Any = mi.type_info(type_) if type_ is not None else None
    out: list[str] = []
    for attr in attrs:
        struct = _struct_info(info) if info is not None else None
        field = next((f for f in struct.fields if f.name == attr), None) if struct else None
        if field is None:
            out.append(attr)
            info = None
        else:
            out.append(field.encode_name)
            info = field.type
    return out


def test_items_paths_use_the_json_names() -> None:
    """The catalogue's items path (what ``--all`` writes) is the answer model's JSON names of the
    typed paginator's attribute path, for every paginated operation."""
    from ozon_async import _catalog

    op = OPERATIONS["POST /v4/posting/fbs/list"]
    assert op.pagination is not None
    assert _catalog.items_path(op) == ["postings"]
    assert _json_names(op.request_type, ("with_", "barcodes")) == ["with", "barcodes"]
    for o in OPERATIONS.values():  # every paginated operation's item path resolves in its model
        if o.pagination is not None and o.response_type is not None:
            assert _catalog.items_path(o) == _json_names(o.response_type, o.pagination.items), o.key


# ---------------------------------------------------------------------- output
def test_flatten_and_cells() -> None:
    item = {"a": {"b": 1, "c": {"d": None}}, "l": [1, {"x": 2}], "t": True, "e": {}, "s": "é"}
    flat = flatten(item)
    assert flat == {"a.b": 1, "a.c.d": None, "l": [1, {"x": 2}], "t": True, "e": {}, "s": "é"}
    assert [cell(v) for v in flat.values()] == ["1", "", '[1,{"x":2}]', "true", "{}", "é"]
    assert flatten(5) == {"value": 5}


def test_csv_columns_from_the_sample_and_late_fields_in_extra() -> None:
    buf = io.BytesIO()
    w = CsvWriter(buf, sample=2)
    w.write({"id": 1, "a": {"b": "x"}})
    w.write({"id": 2, "c": None})
    w.write({"id": 3, "a": {"b": "y", "new": 5}, "late": [1]})
    w.close()
    rows = list(csv.reader(io.StringIO(buf.getvalue().decode(), newline="")))
    assert rows[0] == ["id", "a.b", "c", "_extra"]
    assert rows[1] == ["1", "x", "", ""]
    assert rows[2] == ["2", "", "", ""]
    assert rows[3][:3] == ["3", "y", ""]
    assert json.loads(rows[3][3]) == {"a.new": 5, "late": [1]}
    assert w.rows == 3 and w.late_columns == ["a.new", "late"]
    assert not buf.closed  # the stream belongs to the caller


def test_csv_buffered_items_are_written_on_close_and_empty_stays_empty() -> None:
    buf = io.BytesIO()
    w = CsvWriter(buf, sample=100)
    w.write({"x": 1})
    w.close()
    w.close()
    assert buf.getvalue().decode().splitlines() == ["x,_extra", "1,"]
    empty = io.BytesIO()
    CsvWriter(empty).close()
    assert empty.getvalue() == b""


def test_csv_extra_column_name_does_not_clash() -> None:
    buf = io.BytesIO()
    w = CsvWriter(buf, sample=1)
    w.write({"_extra": 1})
    w.close()
    assert buf.getvalue().decode().splitlines()[0] == "_extra,__extra"


def test_jsonl_writer() -> None:
    buf = io.BytesIO()
    w = JsonLinesWriter(buf)
    w.write_many([{"a": "ж"}, [1]])
    w.close()
    assert buf.getvalue().decode("utf-8") == '{"a":"ж"}\n[1]\n'


# ---------------------------------------------------------------------- operations
def test_find_operation_by_every_name() -> None:
    op = OPERATIONS["POST /v4/posting/fbs/list"]
    for text in ["posting.fbs_list_v4", "POST /v4/posting/fbs/list", "post  /v4/posting/fbs/list",
                 "/v4/posting/fbs/list", "posting_fbs_list_v4"]:  # fmt: skip
        assert _ops.find_operation(text) is op
    with pytest.raises(_ops.UnknownOperation, match=r"did you mean posting\.fbs_list_v4"):
        _ops.find_operation("posting.fbs_lst_v4")


def test_completion_returns_matching_operation_names() -> None:
    names = [name for name, _ in _ops.complete("posting.fbs_list")]
    assert "posting.fbs_list_v4" in names
    assert all(n.startswith("posting.fbs_list") for n in names)
    assert len(names) == sum(
        f"{o.group}.{o.name}".startswith("posting.fbs_list") for o in OPERATIONS.values()
    )
    paths = [name for name, _ in _ops.complete("/v4/posting/fbs/l")]
    assert "/v4/posting/fbs/list" in paths
    assert _ops.complete("zzz") == []


def test_every_operation_has_a_description() -> None:
    for op in OPERATIONS.values():
        text = _ops.describe(op)
        assert op.key in text
        assert _ops.docstring(op), op.key  # the generated method's docstring is found


def test_search_by_path_words_and_ranking() -> None:
    keys = {o.key for o in _ops.search("/v4/posting/fbs")}
    assert keys == {k for k in OPERATIONS if k.startswith("POST /v4/posting/fbs")}
    # every word must match, in any order, across name, path, summary and Chinese title
    assert "products.stocks_v2" in [_ops.dotted(o) for o in _ops.search("warehouses update stocks")]
    named = [_ops.dotted(o) for o in _ops.search("stocks")][:2]  # named by the query first
    assert "products.stocks_v2" in named
    assert all(n.split(".")[1].startswith("stocks") for n in named)
    assert all(o.group == "posting" for o in _ops.search(None, "posting"))
    assert _ops.search("no-such-thing-anywhere") == []
    zh = _ops.title_zh(OPERATIONS["POST /v2/products/stocks"])
    assert zh and OPERATIONS["POST /v2/products/stocks"] in _ops.search(zh)


def test_ops_json_listing() -> None:
    from click.testing import CliRunner

    from ozon_async.cli.app import cli

    result = CliRunner().invoke(cli, ["ops", "--json", "stocks"])
    assert result.exit_code == 0
    rows = json.loads(result.output)
    [row] = [r for r in rows if r["path"] == "/v2/products/stocks"]
    assert row["name"] == "products.stocks_v2" and row["safe"] is False
    assert row["title_zh"] == _ops.title_zh(OPERATIONS["POST /v2/products/stocks"])
