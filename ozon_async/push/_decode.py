"""Reading a notification body: the checks the receiver answers with, the typed event, and the key
that recognises the same event when Ozon sends it again."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from ozon_async.push._base import PushEventBase, UnknownEvent
from ozon_async.push._events import EVENT_ID_FIELDS, EVENT_TYPES, PushEvent

__all__ = ["BadEvent", "Incoming", "decode_event", "read_body"]

_ANY = msgspec.json.Decoder()
_CANONICAL = msgspec.json.Encoder(order="sorted")
#: One cached decoder per event class (lenient: numbers from strings, unknown fields ignored).
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    message_type: msgspec.json.Decoder(cls, strict=False)
    for message_type, cls in EVENT_TYPES.items()
}


class BadEvent(ValueError):
    """A body the receiver refuses with 400: ``code`` is one of Ozon's error codes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Incoming(msgspec.Struct, frozen=True):
    """A notification as received: its type, its JSON, the body and its de-duplication key."""

    message_type: str
    data: dict[str, Any]
    body: bytes
    key: str


def read_body(body: bytes) -> Incoming:
    """Check a body the way the receiver answers it: JSON (else :class:`BadEvent`
    ``ERROR_UNKNOWN``), an object with a non-empty string ``message_type`` (else
    ``ERROR_PARAMETER_VALUE_MISSED``).

    The key is ``"<message_type>:<id>"`` for the types whose body names the event
    (``EVENT_ID_FIELDS``, such as ``uuid``) when it does, else a hash of the body's JSON with its
    keys sorted: Ozon resends an event with the same body."""
    try:
        data = _ANY.decode(body)
    except (msgspec.DecodeError, RecursionError):
        raise BadEvent("ERROR_UNKNOWN", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadEvent("ERROR_UNKNOWN", "the body must be a JSON object")
    message_type = data.get("message_type")
    if not isinstance(message_type, str) or not message_type:
        raise BadEvent("ERROR_PARAMETER_VALUE_MISSED", "message_type is missing")
    id_field = EVENT_ID_FIELDS.get(message_type)
    event_id = data.get(id_field) if id_field else None
    if isinstance(event_id, (str, int)) and not isinstance(event_id, bool) and str(event_id):
        key = f"{message_type}:{event_id}"
    else:
        key = "sha256:" + hashlib.sha256(_CANONICAL.encode(data)).hexdigest()
    return Incoming(message_type, data, body, key)


def decode_event(body: bytes | Incoming) -> PushEvent | UnknownEvent:
    """The typed event of a body (a class of :mod:`ozon_async.push` per ``message_type``).

    A ``message_type`` the spec does not list, or a body of a listed type that does not fit its
    class, gives an :class:`UnknownEvent` holding the body; a body that is not a JSON object with
    a ``message_type`` raises :class:`BadEvent`."""
    incoming = body if isinstance(body, Incoming) else read_body(body)
    decoder = _DECODERS.get(incoming.message_type)
    if decoder is None:
        return UnknownEvent(incoming.message_type, incoming.body, incoming.data)
    try:
        event: PushEventBase = decoder.decode(incoming.body)
    except msgspec.ValidationError as exc:
        return UnknownEvent(incoming.message_type, incoming.body, incoming.data, error=str(exc))
    return event  # type: ignore[return-value]
