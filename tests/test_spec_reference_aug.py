"""Ozon's reference of 14 August 2026 against the spec and the SDK (issue 19).

Reads ``../shared/reference`` when present (``OZON_REFERENCE_DIR`` points elsewhere), else the
copy of the facts these tests need in ``tests/data/reference_2026_08.json``:

* every operation of the August file is a typed method of the client;
* every operation of the SDK that the August file does not list is deprecated, switched off
  (``x-ozon-sunset``) or marked ``x-ozon-removed`` with the date of the first Russian edition
  without it (operations taken from a later source, ``x-ozon-source``, are the only others);
* answers cover every field of the four reference files (their union, full paths);
* requests have exactly the fields of the newest file that describes the operation, and every
  field beyond it records its reason (``x-ozon-note``);
* ``make spec-diff`` against the August file leaves nothing unexplained.
"""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from codegen.specdiff.diff import spec_body_schema
from codegen.specdiff.shape import SpecSchemas, spec_fields, spec_paths
from tests.conftest import REFERENCE, ROOT, load_spec, spec_operations

KEPT = ROOT / "tests" / "data" / "reference_2026_08.json"
AUGUST = "ozon-seller-openapi-ru-2026-08.json"
#: the reference files, oldest first, with the date of each Russian edition (x-ozon-removed)
EDITIONS = (
    ("ozon-seller-openapi-ru-2025-09.json", "2025-09"),
    ("ozon-seller-openapi-ru-2026-05.json", "2026-05"),
    ("ozon-seller-openapi-zh-2026-06.json", None),
    (AUGUST, "2026-08-14"),
)


def facts_from_reference(directory: Path) -> dict[str, Any]:
    """What the tests need of the four reference files (the content of the kept copy)."""
    from codegen.specdiff.refdoc import RefDoc
    from codegen.specdiff.shape import ref_fields

    docs = [(RefDoc.load(directory / name), date) for name, date in EDITIONS]
    listed: dict[str, list[str]] = {}
    titles: dict[str, str] = {}  # the newest Russian title wins: docs are oldest first
    answers: dict[str, set[str]] = {}
    requests: dict[str, list[str]] = {}  # newest file wins: docs are oldest first
    for doc, _date in docs:
        for method, path, op in doc.operations():
            key = f"{method} {path}"
            listed.setdefault(key, []).append(doc.source)
            if "-ru-" in doc.source and (op.get("summary") or "").strip():
                titles[key] = " ".join(op["summary"].split())
            body = doc.response(op)
            if body is not None and body.schema:
                answers.setdefault(key, set()).update(
                    f.path for f in ref_fields(doc, body.schema).values()
                )
            req = doc.request(op)
            requests[key] = sorted(ref_fields(doc, req.schema)) if req and req.schema else []
    august = docs[-1][0]
    return {
        "_about": (
            "Facts of Ozon's reference files used by tests/test_spec_reference_aug.py when "
            "../shared/reference is absent: the operations of ozon-seller-openapi-ru-2026-08.json, "
            "the files that list each operation, the Russian title of the newest Russian file "
            "that lists it, the answer fields of every file (union, full "
            "paths) and the request fields of the newest file describing each operation. "
            "Regenerate with: python -m tests.test_spec_reference_aug DIR"
        ),
        "august": sorted(f"{m} {p}" for m, p, _ in august.operations()),
        "listed_in": {k: v for k, v in sorted(listed.items())},
        "titles_ru": dict(sorted(titles.items())),
        "answer_fields": {k: sorted(v) for k, v in sorted(answers.items())},
        "request_fields": dict(sorted(requests.items())),
    }


@cache
def facts() -> dict[str, Any]:
    if all((REFERENCE / name).exists() for name, _ in EDITIONS):
        return facts_from_reference(REFERENCE)
    data: dict[str, Any] = json.loads(KEPT.read_text(encoding="utf-8"))
    return data


def _spec_ops() -> dict[str, dict[str, Any]]:
    return {f"{m} {p}": op for m, p, op in spec_operations()}


@pytest.mark.skipif(not (REFERENCE / AUGUST).exists(), reason="Ozon's reference is not present")
def test_the_kept_copy_is_the_reference() -> None:
    kept = json.loads(KEPT.read_text(encoding="utf-8"))
    assert kept == facts_from_reference(REFERENCE), (
        "tests/data/reference_2026_08.json is stale: python -m tests.test_spec_reference_aug"
    )


def test_every_operation_of_the_august_reference_is_a_typed_method() -> None:
    from ozon_async import OPERATIONS, OzonClient

    client = OzonClient("1", "key")
    august = facts()["august"]
    assert len(august) == 461
    missing = []
    for key in august:
        op = OPERATIONS.get(key)
        if op is None:
            missing.append(key)
            continue
        method = getattr(getattr(client, op.group), op.name)
        assert callable(method), key
        if op.method != "GET":
            assert op.request_type is not None, key
        if op.response_content_type == "application/json":
            assert op.response_type is not None, key
    assert not missing, missing


def test_every_operation_the_august_reference_lacks_is_deprecated_or_removed() -> None:
    """... and a removed one carries the date of the first Russian edition after the newest
    reference file that lists it."""
    from ozon_async import OPERATIONS

    data = facts()
    august = set(data["august"])
    order = [name for name, _ in EDITIONS]
    dates = dict(EDITIONS)
    source_of = {
        "ozon-seller-openapi-ru-2025-09.json": "ozon-swagger-ru-2025-09",
        "ozon-seller-openapi-ru-2026-05.json": "ozon-swagger-ru-2026-05",
        "ozon-seller-openapi-zh-2026-06.json": "ozon-swagger-zh-2026-06",
        AUGUST: "ozon-swagger-ru-2026-08",
    }
    spec_ops = _spec_ops()
    wrong = []
    removed = 0
    for key, op in OPERATIONS.items():
        if key in august:
            assert op.removed is None, f"{key} is in the August reference but marked removed"
            continue
        if spec_ops[key].get("x-ozon-source"):
            continue  # taken from a later source than the reference files
        if not (op.deprecated or op.sunset or op.removed):
            wrong.append(f"{key}: neither deprecated nor removed")
            continue
        listed = data["listed_in"].get(key, [])
        last = max(i for i, name in enumerate(order) if source_of[name] in listed)
        expected = next(dates[n] for n in order[last + 1 :] if dates[n])
        if op.removed != expected:
            wrong.append(f"{key}: x-ozon-removed {op.removed!r}, expected {expected!r}")
        removed += 1
    assert not wrong, wrong
    assert removed == 27


def test_every_operation_a_russian_reference_names_has_its_russian_title() -> None:
    """``x-title-ru`` is the ``summary`` of the newest Russian reference file that lists the
    operation, on every operation such a file lists (and only there)."""
    titles = facts()["titles_ru"]
    wrong = []
    for key, op in _spec_ops().items():
        if op.get("x-title-ru") != titles.get(key):
            wrong.append(f"{key}: {op.get('x-title-ru')!r}, Ozon: {titles.get(key)!r}")
    assert not wrong, wrong
    assert len(titles) > 480


def test_answers_cover_every_field_of_the_four_reference_files() -> None:
    """Every answer field any reference file declares is in the spec at the same full path
    (``[]`` marks a list), counting every alternative of a field that may be one object or a
    list; a field below a free-form value counts as covered."""
    spec = load_spec()
    schemas = SpecSchemas(spec)
    ops = _spec_ops()
    total = 0
    missing = []
    for key, paths in facts()["answer_fields"].items():
        op = ops.get(key)
        if op is None:
            continue
        content = op["responses"]["200"].get("content") or {}
        if "application/json" not in content:
            continue  # a file: Ozon describes a JSON wrapper the server does not send
        root = spec_body_schema(op, "response")
        mine = spec_paths(schemas, root)
        flat = spec_fields(schemas, root)
        for path in paths:
            total += 1
            if path in mine or _under_free_form(flat, path):
                continue
            missing.append(f"{key} {path}")
    assert total > 5500
    assert not missing, f"{len(missing)} of {total} answer fields missing: {missing[:20]}"


def _under_free_form(flat: dict[str, Any], path: str) -> bool:
    parts = path.replace("[]", "").replace("{}", "").split(".")
    for i in range(1, len(parts)):
        f = flat.get(".".join(parts[:i]))
        if f is not None and "any" in f.accepts:
            return True
    return False


def test_requests_have_the_fields_of_the_newest_reference() -> None:
    """A strict request neither refuses a field Ozon takes now nor sends one it dropped: the
    request fields are those of the newest file describing the operation; a field beyond them
    records why (``x-ozon-note``)."""
    spec = load_spec()
    schemas = SpecSchemas(spec)
    ops = _spec_ops()
    lacking, unexplained, checked = [], [], 0
    for key, theirs_list in facts()["request_fields"].items():
        op = ops.get(key)
        if op is None or key.startswith("GET "):
            continue
        checked += 1
        theirs = set(theirs_list)
        mine = spec_fields(schemas, spec_body_schema(op, "request"))
        for field in theirs - set(mine):
            parent = field.rsplit(".", 1)[0] if "." in field else None
            if parent is not None and (parent not in mine or _under_free_form(mine, field)):
                continue  # reported at its parent, or free-form
            lacking.append(f"{key} {field}")
        for field, f in mine.items():
            parent = field.rsplit(".", 1)[0] if "." in field else None
            if field in theirs or (parent is not None and parent not in theirs):
                continue
            if not f.noted:
                unexplained.append(f"{key} {field}")
    assert checked > 450
    assert not lacking, lacking
    assert not unexplained, unexplained


@pytest.mark.skipif(not (REFERENCE / AUGUST).exists(), reason="Ozon's reference is not present")
def test_spec_diff_against_the_august_reference_leaves_nothing_unexplained() -> None:
    out = subprocess.run(
        ["make", "-s", "spec-diff", f"REF={REFERENCE / AUGUST}", "ARGS=--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert out.stdout.rstrip().endswith("Nothing unexplained."), out.stdout[-2000:]
    assert "27 removed operations marked" in out.stdout


if (
    __name__ == "__main__"
):  # regenerate the kept copy: python -m tests.test_spec_reference_aug [DIR]
    import sys

    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else REFERENCE
    KEPT.write_text(
        json.dumps(facts_from_reference(directory), ensure_ascii=False, indent=0) + "\n",
        encoding="utf-8",
    )
    print(f"wrote {KEPT}")
