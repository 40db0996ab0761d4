"""The ``ozon`` command line (optional extra ``ozon-async[cli]``: Click and Rich).

``import ozon_async`` never imports this package, and importing it imports neither Click nor
Rich: :func:`main` loads the application (:mod:`ozon_async.cli.app`) when it runs.
"""

from __future__ import annotations

import importlib.util
import sys

__all__ = ["main"]

_NEEDED = ("click", "rich")


def main(argv: list[str] | None = None, prog_name: str = "ozon") -> None:
    """Entry point of the ``ozon`` console script and of ``python -m ozon_async``."""
    missing = [name for name in _NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"ozon: the command line needs {' and '.join(missing)}: pip install 'ozon-async[cli]'",
            file=sys.stderr,
        )
        raise SystemExit(2)
    from ozon_async.cli.app import cli

    cli.main(args=argv, prog_name=prog_name, complete_var="_OZON_COMPLETE")
