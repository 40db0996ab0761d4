"""The API reference (api.md and docs/types/, written by `make codegen`) and what runtime help
shows: every operation with its signature, types and helpers, every link resolving, and the
real keyword arguments of every generated method through ``inspect.signature``."""

from __future__ import annotations

import inspect
import pydoc
import re
from functools import cache
from pathlib import Path

import pytest

from ozon_async import OPERATIONS, OzonClient
from tests.conftest import ROOT

API_MD = ROOT / "api.md"
TYPES = ROOT / "docs" / "types"


@cache
def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@cache
def _anchors(path: Path) -> set[str]:
    """GitHub's anchors of a Markdown file's headings."""
    out = set()
    for line in _text(path).splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def test_api_md_has_every_operation_with_its_signature_and_ozon_link() -> None:
    text = _text(API_MD)
    sections = text.split("\n### ")[1:]
    by_name = {s.split("\n", 1)[0]: s for s in sections}
    assert len(by_name) == len(OPERATIONS)
    for op in OPERATIONS.values():
        section = by_name[f"client.{op.group}.{op.name}"]
        assert f"await client.{op.group}.{op.name}(" in section
        assert f"`{op.method} {op.path}`" in section
        assert "(https://docs.ozon.ru/api/seller/" in section
        response = op.response_type_ref.rsplit(":", 1)[1] if op.response_type_ref else None
        if response:
            assert f"-> {response}" in section and f"Answer: [`{response}`]" in section
        if op.request_type_ref:
            assert f"Request: [`{op.request_type_ref.rsplit(':', 1)[1]}`]" in section
        for word, present in (
            ("Paginated", op.pagination is not None),
            ("Bulk:", op.batch is not None),
            ("\n- Task", op.task is not None),
            ("**Deprecated**", op.deprecated),
        ):
            assert (word in section) == present, (op.key, word)
        if op.sunset:
            assert f"switches it off on {op.sunset}" in section


def test_every_link_of_the_reference_resolves() -> None:
    files = [API_MD, *sorted(TYPES.glob("*.md"))]
    assert len(files) > 40
    checked = 0
    for path in files:
        for target in re.findall(r"\]\(([^)\s]+)\)", _text(path)):
            if target.startswith("http"):
                continue
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / file_part).resolve() if file_part else path
            assert dest.exists(), (path.name, target)
            if anchor and dest.suffix == ".md":
                assert anchor in _anchors(dest), (path.name, target)
            checked += 1
    assert checked > 3000


def test_type_tables_state_limits_values_and_requiredness() -> None:
    posting = _text(TYPES / "posting.md")
    table = posting.split("\n## PostingFbsListV4Request\n", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"\| `limit` \| `int` \(≥ 1, ≤ 100\) \| required \|", table)
    assert "| `with` (`.with_`) |" in table
    status = posting.split("\n## FbsPostingStatus\n", 1)[1].split("\n## ", 1)[0]
    assert "An open string" in status and "`awaiting_packaging`" in status
    warehouses = _text(TYPES / "warehouse.md").split("\n## WarehouseListV2Response\n", 1)[1]
    row = next(ln for ln in warehouses.splitlines() if ln.startswith("| `warehouses` |"))
    assert "None" not in row  # a list in an answer is never None


def _methods() -> list[tuple[str, object]]:
    client = OzonClient("1", "k")
    return [
        (f"{op.group}.{op.name}", getattr(getattr(client, op.group), op.name))
        for op in OPERATIONS.values()
    ]


def test_every_generated_method_shows_its_real_keyword_arguments() -> None:
    """inspect.signature (Jupyter, IDEs' runtime help, pydoc) shows the generated method's own
    parameters, for bulk and task methods as for the others."""
    helpers = 0
    for name, method in _methods():
        sig = inspect.signature(method)  # type: ignore[arg-type]
        kinds = {p.kind for p in sig.parameters.values()}
        assert inspect.Parameter.VAR_POSITIONAL not in kinds, (name, str(sig))
        assert "call_options" in sig.parameters, name
        assert "self" not in sig.parameters
        helpers += hasattr(method, "bulk") or hasattr(method, "and_wait")
    assert helpers >= 70


@pytest.mark.parametrize(
    "name", ["barcode.add_v1", "product.import_v3", "report.products_create_v1"]
)
def test_help_shows_the_arguments_of_bulk_and_task_methods(name: str) -> None:
    group, method_name = name.split(".")
    method = getattr(getattr(OzonClient("1", "k"), group), method_name)
    text = pydoc.render_doc(method, renderer=pydoc.plaintext)
    first = text.splitlines()[2]
    assert first.startswith(f"{method_name}(*, ") and "**call_options" in first, first
    assert "*args" not in first


def test_ozon_ops_shows_the_whole_request_and_an_example() -> None:
    """`ozon ops NAME`: nested fields with their types, requiredness, limits and allowed values,
    then the spec's example as a ready command."""
    from ozon_async.cli import _ops

    text = _ops.describe(_ops.find_operation("posting.fbs_list_v4"))
    shape = text[text.index("Request (every field") :]
    for line in ("  filter ", "    since ", "    to ", "    statuses ", "  limit "):
        assert line in shape, line
    assert re.search(r"\n    since +string \(date-time\), required", shape)
    assert re.search(r"\n  limit +integer \(int64\), required, 1\.\.100", shape)
    assert "one of: awaiting_registration" in shape  # the allowed statuses
    assert "ozon call posting.fbs_list_v4 --json '{" in shape
    multipart = _ops.describe(_ops.find_operation("product.certificate_create_v1"))
    assert re.search(r"\n  name +string, required, at most 100 chars", multipart)
    path = _ops.describe(_ops.find_operation("cargoes_label.file_v1"))
    assert "file_guid  string, required, in the path" in path
