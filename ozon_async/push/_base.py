"""The base of the generated event classes, and the event of a type the spec does not know."""

from __future__ import annotations

from typing import Any

import msgspec

from ozon_async._models import Model

__all__ = ["PushEventBase", "UnknownEvent"]


class PushEventBase(Model, tag_field="message_type"):
    """Base of every documented push notification (``ozon_async.push._events``).

    The ``message_type`` of the body picks the class (a msgspec tagged union); it is readable as
    :attr:`message_type`.
    """

    @property
    def message_type(self) -> str:
        """The notification type, e.g. ``"TYPE_NEW_POSTING"``."""
        return str(self.__struct_config__.tag)


class UnknownEvent(msgspec.Struct, frozen=True):
    """A notification this SDK cannot read as a documented event: a ``message_type`` the spec does
    not list (Ozon adds types), or a known type whose body does not fit its class (``error`` says
    why). Nothing is lost: ``raw`` is the body as received and ``data`` its decoded JSON."""

    message_type: str
    """The body's ``message_type`` as sent."""
    raw: bytes
    """The body as Ozon sent it."""
    data: dict[str, Any]
    """The body as JSON."""
    error: str | None = None
    """Why a body of a documented type could not be read as that type (``None`` for a type the
    spec does not list)."""
