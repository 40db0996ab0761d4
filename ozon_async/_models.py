"""Base class of the generated models, and the result type of binary answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeVar

import msgspec

_T = TypeVar("_T")

if TYPE_CHECKING:
    from typing import TypeAlias

    EmptyAsNullInt = int
    AnswerList: TypeAlias = list[_T]
    AnswerDict: TypeAlias = dict[str, _T]
else:
    #: A list in an answer. Type checkers see ``list[X]``; msgspec also accepts a null, which
    #: the model's ``__post_init__`` turns into ``[]`` (an absent list is ``[]`` by default), so
    #: ``for w in page.warehouses:`` needs no ``or []``.
    AnswerList = list[_T] | None
    #: A map (JSON object with free keys) in an answer: ``dict[str, X]``, never None.
    AnswerDict = dict[str, _T] | None
    #: An integer that Ozon sends as ``""`` when there is none (``x-ozon-empty-as-null``); the
    #: generated model turns ``""`` into ``None`` after decoding.
    EmptyAsNullInt = int | Literal[""]


class Model(msgspec.Struct, kw_only=True, omit_defaults=True, repr_omit_defaults=True, gc=False):
    """Base of every generated model.

    Models are `msgspec.Struct` types: fields are keyword-only, unset fields (``None``) are left out
    of the JSON sent to Ozon, unknown fields in answers are ignored, and the repr shows only the
    fields that are set.

    Instances are not tracked by Python's cyclic garbage collector (``gc=False``): a decoded answer
    is a tree and cannot hold a cycle, and leaving thousands of postings out of the collector's
    scans makes decoding a large page about twice as fast. Lists and dicts inside a model are still
    tracked; a model made to refer to itself would never be collected.
    """


class RequestModel(Model, forbid_unknown_fields=True):
    """Base of every generated request model.

    Requests are strict: a key the model does not declare is refused (with the path of the key)
    instead of being dropped, enums accept only their listed values, and the limits the spec
    states (ranges, lengths, item counts) are checked before anything is sent. Fields Ozon added
    after the spec go in the ``extra_body`` option of a call.
    """


class BinaryResponse(msgspec.Struct, frozen=True):
    """A non-JSON answer, such as the PDF of ``/v2/posting/fbs/package-label``."""

    content: bytes
    """The body as received."""
    content_type: str
    """The ``Content-Type`` of the answer, for example ``application/pdf``."""

    def __repr__(self) -> str:
        return f"BinaryResponse(content_type={self.content_type!r}, size={len(self.content)})"
