"""``python -m codegen``: generate the models, resources and operation registry of each API.

One generator, one set of templates, one target per spec (:mod:`codegen.targets`):
spec/openapi.yaml (the Seller API) into ozon_async/types, ozon_async/resources and
ozon_async/_spec; spec/performance.yaml (the Performance API) into the same directories under
ozon_async/performance.

Options:
  --spec PATH   only the target of this spec (default: every target)
  --check       generate into a temporary directory and fail if a tracked file would change
  --quiet       print nothing on success
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from codegen import yamlload
from codegen.apidoc import render_docs
from codegen.model import Builder
from codegen.render import render_all
from codegen.targets import SELLER, TARGETS, Target, target_for

ROOT = Path(__file__).resolve().parent.parent
#: Directories the generator owns completely for the Seller spec. Nothing else is ever written.
GENERATED_DIRS = SELLER.dirs
#: Generated single files: in directories of hand-written code (the push events, next to their
#: runtime), and the API reference's index (api.md).
GENERATED_FILES = tuple(f for t in TARGETS for f in t.outputs)


def load_spec(path: Path) -> dict[str, object]:
    data = yamlload.load(path.read_bytes())
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: not a mapping")
    return data


def ruff() -> str:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return str(exe)
    found = shutil.which("ruff")
    if not found:
        raise SystemExit("codegen needs ruff (pip install ruff) to format its output")
    return found


def generate(spec_path: Path, out_root: Path, target: Target | None = None) -> list[str]:
    """Generate the code of ``spec_path`` under ``out_root`` (the target its file name picks,
    unless given)."""
    target = target or target_for(str(spec_path))
    spec = load_spec(spec_path)
    api = Builder(spec).build()
    files = render_all(api, target)
    if target.reference is not None:
        files.update(render_docs(api, *target.reference))
    for d in target.dirs:
        directory = out_root / d
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
    for rel in target.outputs:
        (out_root / rel).unlink(missing_ok=True)
    for rel, content in files.items():
        path = out_root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    # The spec itself, for the mock server and for tools: one key per line (so that a change of
    # the spec reads as a small diff here too), keys in spec order.
    (out_root / target.root / "_spec/openapi.json").write_bytes(
        msgspec.json.format(msgspec.json.encode(spec), indent=1) + b"\n"
    )
    paths = [str(out_root / d) for d in target.dirs if d.startswith(target.root)]
    paths += [str(out_root / f) for f in target.files if (out_root / f).exists()]
    cfg = ["--config", str(ROOT / "pyproject.toml")]
    # Sort imports and drop what the templates over-import, then format.
    subprocess.run(
        [ruff(), "check", "--quiet", *cfg, "--select", "I,F401", "--fix", *paths], check=True
    )
    subprocess.run([ruff(), "format", "--quiet", *cfg, *paths], check=True)
    return sorted(files)


def generated_files(directory: Path, root: Path) -> list[Path]:
    """Files under a generated directory, relative to ``root`` (caches left out)."""
    if not directory.exists():
        return []
    return sorted(
        p.relative_to(root)
        for p in directory.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    ap.add_argument("--spec", type=Path, default=None)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    jobs = (
        [(args.spec, target_for(str(args.spec)))]
        if args.spec is not None
        else [(ROOT / t.spec, t) for t in TARGETS]
    )
    if not args.check:
        count = sum(len(generate(spec, ROOT, target)) for spec, target in jobs)
        if not args.quiet:
            print(f"codegen: wrote {count} files in {time.perf_counter() - started:.1f} s")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        shutil.copy(ROOT / "pyproject.toml", out / "pyproject.toml")
        stale: list[str] = []
        dirs: list[str] = []
        single: list[str] = []
        for spec, target in jobs:
            (out / target.root).mkdir(parents=True, exist_ok=True)
            generate(spec, out, target)
            dirs.extend(target.dirs)
            single.extend(target.outputs)
        for d in dirs:
            new = set(generated_files(out / d, out))
            old = set(generated_files(ROOT / d, ROOT))
            for rel in sorted(new | old):
                a, b = ROOT / rel, out / rel
                if not a.exists() or not b.exists() or a.read_bytes() != b.read_bytes():
                    stale.append(str(rel))
        for f in single:
            a, b = ROOT / f, out / f
            if a.exists() != b.exists() or (a.exists() and a.read_bytes() != b.read_bytes()):
                stale.append(f)
        if stale:
            print("codegen --check: generated code is out of date; run `make codegen`:")
            for s in stale:
                print("  " + s)
            return 1
    if not args.quiet:
        print(f"codegen --check: up to date ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
