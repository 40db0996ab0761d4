"""Frozen records: the small immutable values of the runtime (operations, settings, decisions).

A record class declares each field once, in its body, as a dataclass would::

    class Retry(Record):
        wait: float
        reason: str = ""

The annotations, in order, are the fields (a ``ClassVar`` is not one); a value is the field's
default, and ``field(alias=...)`` names the constructor's argument differently from the
attribute. ``class Operation(Record, kw_only=True)`` takes its fields as keywords only. From that
one declaration the class gets its ``_fields``, ``__slots__`` and an ``__init__`` that sets each
field and then calls ``__post_init__`` (if the class has one: checks and normalisation, through
:meth:`Record._set`). This base gives the rest: assignment and deletion raise
:class:`FrozenInstanceError`, two records are equal when they are of the same class with equal
fields (and hash alike), the repr names every field, and :meth:`Record.replace` makes a copy with
some fields changed, through ``__init__`` so the copy is checked like the original.

This is what ``@dataclass(frozen=True)`` gives, made here: importing :mod:`dataclasses` (and the
:mod:`inspect` it pulls in) costs more than the rest of ``import ozon_async``. Modules defining
records use ``from __future__ import annotations`` (the annotations are read as text).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: Any) -> Any:  # a marker for type checkers only
        return lambda cls: cls


__all__ = ["FrozenInstanceError", "Record", "field"]

R = TypeVar("R", bound="Record")

_MISSING: Any = object()


class FrozenInstanceError(AttributeError):
    """Raised on an attempt to change a field of a record."""


class _Field:
    __slots__ = ("alias", "default")

    def __init__(self, default: Any, alias: str | None) -> None:
        self.default = default
        self.alias = alias


def field(*, default: Any = _MISSING, alias: str | None = None) -> Any:
    """A field whose constructor argument is named ``alias`` (and its ``default``, if any)."""
    return _Field(default, alias)


class _RecordType(type):
    """Reads a record class's body once: its fields, ``__slots__`` and ``__init__``."""

    def __new__(
        mcs, name: str, bases: tuple[type, ...], ns: dict[str, Any], *, kw_only: bool = False
    ) -> _RecordType:
        if not any(isinstance(b, _RecordType) for b in bases):  # Record itself
            return super().__new__(mcs, name, bases, ns)
        notes: dict[str, str] = ns.get("__annotations__", {})
        own = [n for n, note in notes.items() if not str(note).startswith("ClassVar")]
        defaults: dict[str, Any] = {}
        aliases: dict[str, str] = {}
        for n in own:
            value = ns.pop(n, _MISSING)
            if isinstance(value, _Field):
                if value.alias is not None:
                    aliases[n] = value.alias
                value = value.default
            if value is not _MISSING:
                defaults[n] = value
        ns["__slots__"] = tuple(own)
        cls: Any = super().__new__(mcs, name, bases, ns)
        cls._fields = (*cls._fields, *own)
        cls._defaults = {**cls._defaults, **defaults}
        cls._aliases = {**cls._aliases, **aliases}
        if "__init__" not in ns:
            cls.__init__ = _make_init(cls, kw_only)
        return cls  # type: ignore[no-any-return]


def _make_init(cls: Any, kw_only: bool) -> Any:
    """An ``__init__`` setting the fields in order (written out, as fast as one by hand)."""
    params = [
        f"{cls._aliases.get(n, n)}=_d[{n!r}]" if n in cls._defaults else cls._aliases.get(n, n)
        for n in cls._fields
    ]
    lines = [f"    _set(self, {n!r}, {cls._aliases.get(n, n)})" for n in cls._fields]
    if hasattr(cls, "__post_init__"):
        lines.append("    self.__post_init__()")
    star = ["*"] if kw_only and params else []
    source = f"def __init__({', '.join(['self', *star, *params])}):\n" + "\n".join(
        lines or ["    pass"]
    )
    scope: dict[str, Any] = {"_d": cls._defaults, "_set": object.__setattr__}
    exec(source, scope)  # the source is built above from field names only
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
class Record(metaclass=_RecordType):
    """Base of the frozen records (see the module's docstring)."""

    __slots__ = ()

    #: The names of the fields, in the order of ``__init__``'s parameters.
    _fields: ClassVar[tuple[str, ...]] = ()
    #: Default values by field name.
    _defaults: ClassVar[dict[str, Any]] = {}
    #: Constructor argument names that differ from the field's (``field(alias=...)``).
    _aliases: ClassVar[dict[str, str]] = {}
    #: Fields left out of the repr.
    _repr_hidden: ClassVar[frozenset[str]] = frozenset()

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r} of {type(self).__name__}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r} of {type(self).__name__}")

    def _set(self, name: str, value: Any) -> None:
        """Set a field from ``__post_init__`` (a checked or normalised value)."""
        object.__setattr__(self, name, value)

    def _values(self) -> tuple[Any, ...]:
        return tuple([getattr(self, name) for name in self._fields])

    def _init_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``__init__`` that make an equal record."""
        aliases = self._aliases
        return {aliases.get(name, name): getattr(self, name) for name in self._fields}

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
