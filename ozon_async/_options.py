"""Per-call options accepted by every typed method (and by :meth:`OzonClient.request`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict


class CallOptions(TypedDict, total=False):
    """Keyword options of one call, beside the request's own fields.

    Adding an option means adding it here and reading it in the runtime; the generated methods
    pass them through unchanged (``**options: Unpack[CallOptions]``).
    """

    timeout: float | None
    """Seconds for each attempt (connect, send, read); default: the client's ``timeout``."""
    max_retries: int | None
    """How many times this call may be resent; default: the client's ``max_retries``."""
    extra_headers: Mapping[str, str] | None
    """Headers added to this call only."""
    extra_body: Mapping[str, Any] | None
    """Top-level JSON fields added to the validated body as they are: the escape hatch for fields
    Ozon added before the spec. A key that is also a field of the request is refused."""
    idempotent: bool | None
    """``True`` allows resending this call after an ambiguous failure (a timeout, a 5xx, a lost
    connection) even though it changes data; ``False`` forbids it even for a read."""


#: The names of the options, which no request field may take.
OPTION_NAMES: frozenset[str] = frozenset(CallOptions.__annotations__)
