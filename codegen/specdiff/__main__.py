"""``python -m codegen.specdiff``: keep spec/openapi.yaml current with Ozon's reference swagger.

python -m codegen.specdiff REF.json [--json] [--all] [--check]
    drift report: operations added, removed, newly deprecated; per operation we have, fields
    added, removed, changed in type, enum values or required (request and 200 answer).
    Differences the spec explains (x-ozon-removed, a recorded x-ozon-note) are counted apart;
    --check exits 1 when anything is left unexplained.
python -m codegen.specdiff REF.json --import POST:/v1/foo/list [...] | --import-all-missing
    draft the missing operations into the spec (texts left as TODO(describe)); the other
    reference files of REF's directory (``--refs DIR``) supply examples, titles and fields.
python -m codegen.specdiff --fill-fields --refs DIR
    add every field a reference declares that the spec lacks (texts left as TODO(describe)).
python -m codegen.specdiff --normalize-names [--rename Old=New ...]
    split schemas shared by requests and answers, then rename schemas by the type-name rule.
python -m codegen.specdiff --describe [--refs DIR] [--out build/describe]
    write one worklist per tag of every TODO(describe) text, with the reference text as a hint.
python -m codegen.specdiff --apply-text FILE [FILE ...]
    put written texts back into the spec; refuses unknown, duplicate or non-English entries.
python -m codegen.specdiff --todo
    count the TODO(describe) texts left, per tag.
python -m codegen.specdiff --fix-placeholders
    replace the placeholders in the spec's examples ("string", zero ids, generator dates...)
    with realistic values, recording each change to an Ozon example (codegen/specdiff/placeholders.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from codegen.specdiff import specio

if TYPE_CHECKING:
    from codegen.specdiff.refdoc import RefDoc

DEFAULT_REFS = specio.ROOT.parent / "shared" / "reference"


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m codegen.specdiff",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("reference", nargs="?", type=Path, help="an Ozon swagger file (JSON)")
    ap.add_argument("--spec", type=Path, default=specio.SPEC_PATH)
    ap.add_argument("--json", action="store_true", help="print the drift report as JSON")
    ap.add_argument("--all", action="store_true", help="also show fields the spec repairs")
    ap.add_argument(
        "--check", action="store_true", help="exit 1 when a difference is left unexplained"
    )
    ap.add_argument("--refs", type=Path, help="directory of the reference files")
    ap.add_argument("--import", dest="import_ops", nargs="+", metavar="METHOD:/path")
    ap.add_argument("--import-all-missing", action="store_true")
    ap.add_argument("--fill-fields", action="store_true")
    ap.add_argument("--normalize-names", action="store_true")
    ap.add_argument("--rename", nargs="+", default=[], metavar="OLD=NEW")
    ap.add_argument("--check-names", action="store_true")
    ap.add_argument("--describe", action="store_true")
    ap.add_argument("--out", type=Path, default=specio.ROOT / "build" / "describe")
    ap.add_argument("--apply-text", nargs="+", type=Path, metavar="FILE")
    ap.add_argument("--todo", action="store_true")
    ap.add_argument("--fix-placeholders", action="store_true")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    if args.fix_placeholders:
        return _fix_placeholders(args)
    refs_dir = args.refs or (args.reference.parent if args.reference else DEFAULT_REFS)
    if args.apply_text:
        return _apply_text(args)
    if args.describe:
        return _describe(args, refs_dir)
    if args.todo:
        return _todo(args)
    if args.normalize_names or args.rename or args.check_names:
        return _names(args)
    if args.fill_fields:
        return _fill_fields(args, refs_dir)
    if args.reference is None:
        ap.error("a reference file is needed")
    from codegen.specdiff.refdoc import RefDoc

    doc = RefDoc.load(args.reference)
    if args.import_ops or args.import_all_missing:
        return _import(args, doc, refs_dir)
    from codegen.specdiff.diff import diff, render

    report = diff(specio.load(args.spec), doc)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=1))
    else:
        sys.stdout.write(render(report, show_repaired=args.all))
    return 1 if args.check and report.unexplained() else 0


def _fix_placeholders(args: argparse.Namespace) -> int:
    from codegen.specdiff.placeholders import repair

    spec = specio.load(args.spec)
    lines = repair(spec)
    for line in lines:
        print(line)
    specio.save(spec, args.spec)
    return 1 if any(line.startswith("UNRESOLVED") for line in lines) else 0


def _apply_text(args: argparse.Namespace) -> int:
    from codegen.specdiff.describe import apply_texts

    spec = specio.load(args.spec)
    problems, left = apply_texts(spec, args.apply_text)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problems; nothing written", file=sys.stderr)
        return 1
    specio.save(spec, args.spec)
    print(f"applied; {left} TODO(describe) texts left")
    return 0


def _describe(args: argparse.Namespace, refs_dir: Path) -> int:
    from codegen.specdiff.coverage import load_references
    from codegen.specdiff.describe import write_worklists

    spec = specio.load(args.spec)
    docs = load_references(refs_dir) if refs_dir.exists() else []
    counts = write_worklists(spec, docs, args.out)
    for tag, n in sorted(counts.items()):
        print(f"{args.out / (tag + '.yaml')}: {n} texts")
    print(f"{sum(counts.values())} texts to write in {len(counts)} worklists")
    return 0


def _todo(args: argparse.Namespace) -> int:
    from codegen.specdiff.describe import collect_todos

    spec = specio.load(args.spec)
    per: dict[str, int] = {}
    for t in collect_todos(spec):
        per[t.tag] = per.get(t.tag, 0) + 1
    for tag, n in sorted(per.items()):
        print(f"{tag}: {n}")
    print(f"total: {sum(per.values())}")
    return 0


def _names(args: argparse.Namespace) -> int:
    from codegen.specdiff import names

    spec = specio.load(args.spec)
    if args.check_names and not (args.normalize_names or args.rename):
        bad = names.violations(spec)
        print("\n".join(bad) if bad else "type names follow the rule")
        return 1 if bad else 0
    renames = dict(r.split("=", 1) for r in args.rename)
    changes = names.normalize(spec, renames)
    specio.save(spec, args.spec)
    for old, new in sorted(changes.items()):
        print(f"{old} -> {new}")
    print(f"{len(changes)} schemas renamed")
    bad = names.violations(spec)
    for b in bad:
        print("still breaks the rule: " + b, file=sys.stderr)
    return 1 if bad else 0


def _fill_fields(args: argparse.Namespace, refs_dir: Path) -> int:
    from codegen.specdiff import coverage, names

    spec = specio.load(args.spec)
    docs = coverage.load_references(refs_dir)
    added = coverage.fill(spec, coverage.missing_fields(spec, docs))
    names.normalize(spec)
    specio.save(spec, args.spec)
    print("\n".join(added))
    print(f"{len(added)} fields added")
    return 0


def _import(args: argparse.Namespace, doc: RefDoc, refs_dir: Path) -> int:
    from codegen.specdiff.importer import import_operations

    spec = specio.load(args.spec)
    have = {(m.upper(), p) for p, item in spec["paths"].items() for m in item}
    if args.import_all_missing:
        wanted = [(m, p) for m, p, _ in doc.operations() if (m, p) not in have]
    else:
        wanted = []
        for s in args.import_ops:
            m, _, p = s.partition(":")
            if not p:
                m, p = "POST", s
            wanted.append((m.upper(), p))
    report = import_operations(spec, doc, refs_dir, wanted)
    specio.save(spec, args.spec)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
