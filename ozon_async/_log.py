"""The ``ozon_async`` logger, made on first use: ``import ozon_async`` does not import
:mod:`logging` (a call does, when it has something to log or asks whether it should)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging

#: The levels of :mod:`logging` the runtime logs at, without importing it.
DEBUG = 10
INFO = 20
WARNING = 30

_logger: logging.Logger | None = None


def get_logger() -> logging.Logger:
    """``logging.getLogger("ozon_async")``, the logger every part of the SDK writes to."""
    global _logger
    if _logger is None:
        import logging

        _logger = logging.getLogger("ozon_async")
    return _logger
