"""Running the README's examples as written: its ```python blocks, each in a fresh interpreter,
compared with the plain ``` block that shows what it prints."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def readme_examples(title: str) -> list[tuple[str, str | None]]:
    """The ```python blocks of a README section, each with the plain ``` block that follows it
    (what it prints), if any."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w*)\n(.*?)```", section, re.S)
    found: list[tuple[str, str | None]] = []
    for i, (lang, body) in enumerate(blocks):
        if lang == "python":
            after = blocks[i + 1] if i + 1 < len(blocks) else None
            found.append((body, after[1] if after is not None and after[0] == "" else None))
    return found


def run_example(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout
