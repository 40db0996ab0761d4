"""Frozen records: the small immutable values of the runtime (operations, settings, decisions).

A record class names its fields in order in ``_fields`` (also its ``__slots__``) and sets them
once in its ``__init__`` (through ``object.__setattr__``); this base gives it the rest: assignment and deletion raise
:class:`FrozenInstanceError`, two records are equal when they are of the same class with equal
fields (and hash alike), the repr names every field, and :meth:`Record.replace` makes a copy with
some fields changed, through ``__init__`` so the copy is checked like the original.

This is what ``@dataclass(frozen=True)`` gives, written out once: importing :mod:`dataclasses`
(and the :mod:`inspect` it pulls in) and generating each class's methods cost more than the rest
of ``import ozon_async``.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

R = TypeVar("R", bound="Record")


class FrozenInstanceError(AttributeError):
    """Raised on an attempt to change a field of a record."""


class Record:
    """Base of the frozen records (see the module's docstring)."""

    __slots__ = ()

    #: The names of the fields, in the order of ``__init__``'s parameters.
    _fields: ClassVar[tuple[str, ...]] = ()
    #: Fields left out of the repr.
    _repr_hidden: ClassVar[frozenset[str]] = frozenset()

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r} of {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r} of {type(self).__name__}")

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def _init_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``__init__`` that make an equal record."""
        return {name: getattr(self, name) for name in self._fields}

    def replace(self: R, **changes: Any) -> R:
        """A copy with ``changes`` applied, made (and checked) by ``__init__``."""
        cls: Any = type(self)
        made: R = cls(**{**self._init_arguments(), **changes})
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        # copy, deepcopy and pickle rebuild the record field by field (it refuses setattr)
        return _rebuild, (type(self), self._values())

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._values() == other._values()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        hidden = self._repr_hidden
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self._fields if name not in hidden
        )
        return f"{type(self).__qualname__}({shown})"


def _rebuild(cls: type[R], values: tuple[Any, ...]) -> R:
    record = object.__new__(cls)
    for name, value in zip(cls._fields, values, strict=True):
        object.__setattr__(record, name, value)
    return record
