"""The benchmark script runs (a few seconds, tiny sizes, nothing written)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_bench_smoke_pass() -> None:
    out = subprocess.run(
        [sys.executable, "bench/run.py", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "call overhead" in out.stdout and "decode" in out.stdout
    assert "| figure |" in out.stdout
