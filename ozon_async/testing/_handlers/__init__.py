"""State-backed operations: answers read from and writes applied to the sandbox shop, one room
per domain (:mod:`.warehouses`, :mod:`.products` with prices, :mod:`.stocks`, :mod:`.postings`,
:mod:`.labels`, :mod:`.returns`, :mod:`.chats`, :mod:`.reports`).

Each handler gets a :class:`Call` and returns the answer as plain JSON data (the server then shapes
it to the operation's response schema, generating any field a handler leaves out), or raises
:class:`SandboxError` for Ozon's error answers. Handlers are keyed by ``"METHOD /path"``
(registered with :func:`handles`); an operation without one answers with data generated from its
schema. Sandbox behaviour for a domain is an edit in its room.
"""

from __future__ import annotations

from ozon_async.testing._handlers import (  # noqa: F401  (each room registers its handlers)
    chats,
    labels,
    postings,
    products,
    returns,
    stocks,
    warehouses,
)
from ozon_async.testing._handlers._base import HANDLERS, NEEDS, PREPARE, Call, SandboxError
from ozon_async.testing._handlers.labels import label_file, seed_label_tasks
from ozon_async.testing._handlers.products import finish_import
from ozon_async.testing._handlers.reports import create_report, report_type_for

__all__ = [
    "HANDLERS",
    "NEEDS",
    "PREPARE",
    "Call",
    "SandboxError",
    "create_report",
    "finish_import",
    "label_file",
    "report_type_for",
    "seed_label_tasks",
]
