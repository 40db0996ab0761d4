"""``python -m codegen``: generate ozon_async/types and ozon_async/resources from the spec, and
the API reference (api.md, docs/types/).

Options:
  --spec PATH   spec to read (default: spec/openapi.yaml)
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

ROOT = Path(__file__).resolve().parent.parent
#: Directories the generator owns completely. Nothing else is ever written.
GENERATED_DIRS = ("ozon_async/types", "ozon_async/resources", "ozon_async/_spec", "docs/types")
#: Single files the generator owns (the API reference, codegen/apidoc.py).
GENERATED_FILES = ("api.md",)


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


def generate(spec_path: Path, out_root: Path) -> list[str]:
    spec = load_spec(spec_path)
    api = Builder(spec).build()
    files = render_all(api)
    files.update(render_docs(api))
    for d in GENERATED_DIRS:
        target = out_root / d
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
    for rel, content in files.items():
        path = out_root / rel
        path.write_text(content, encoding="utf-8")
    # The spec itself, for the mock server and for tools: one key per line (so that a change of
    # the spec reads as a small diff here too), keys in spec order.
    (out_root / "ozon_async/_spec/openapi.json").write_bytes(
        msgspec.json.format(msgspec.json.encode(spec), indent=1) + b"\n"
    )
    paths = [str(out_root / d) for d in GENERATED_DIRS if d.startswith("ozon_async/")]
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
    ap.add_argument("--spec", type=Path, default=ROOT / "spec" / "openapi.yaml")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    if not args.check:
        files = generate(args.spec, ROOT)
        if not args.quiet:
            print(f"codegen: wrote {len(files)} files in {time.perf_counter() - started:.1f} s")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        (out / "ozon_async").mkdir()
        shutil.copy(ROOT / "pyproject.toml", out / "pyproject.toml")
        generate(args.spec, out)
        stale: list[str] = []
        for d in GENERATED_DIRS:
            new = set(generated_files(out / d, out))
            old = set(generated_files(ROOT / d, ROOT))
            for rel in sorted(new | old):
                a, b = ROOT / rel, out / rel
                if not a.exists() or not b.exists() or a.read_bytes() != b.read_bytes():
                    stale.append(str(rel))
        for name in GENERATED_FILES:
            a, b = ROOT / name, out / name
            if not a.exists() or a.read_bytes() != b.read_bytes():
                stale.append(name)
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
