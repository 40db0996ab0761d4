"""Reading and writing spec/openapi.yaml so that an untouched spec round-trips byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "spec" / "openapi.yaml"


class SpecDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


SpecDumper.add_representer(str, _str_presenter)


def load(path: Path = SPEC_PATH) -> dict[str, Any]:
    from codegen import yamlload

    data = yamlload.load(Path(path).read_bytes())
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: not a mapping")
    return data


def dump(spec: dict[str, Any]) -> str:
    return yaml.dump(spec, Dumper=SpecDumper, allow_unicode=True, sort_keys=False, width=100)


def save(spec: dict[str, Any], path: Path = SPEC_PATH) -> None:
    Path(path).write_text(dump(spec), encoding="utf-8")
