"""Frozen dataclasses at a fraction of the price: the sandbox's records (scenarios, events,
resources, profiles) are immutable, and defining them is part of every command's start-up.

Before Python 3.13, ``dataclass`` compiles each method it writes separately: ``__init__``,
``__repr__`` and ``__eq__``, and for ``frozen=True`` ``__setattr__``, ``__delattr__`` and
``__hash__`` too, some 0.8 ms a class on Python 3.11; the ~60 records a run defines took about a
fifth of its start-up. :func:`record` lets ``dataclass`` write only ``__init__`` (its signature is
the class's own) and gives the class the five others written once here: what a frozen dataclass
does, checked by ``tests/unit/test_records.py`` against ``dataclass(frozen=True)`` itself.
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:
    def dataclass_transform(**_: object) -> Callable[[Any], Any]:
        return lambda decorated: decorated

C = TypeVar("C")


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type[C]) -> type[C]:
    """``@dataclass(frozen=True)``: a field is set once, by ``__init__``, and never again;
    nothing else is set or deleted; records are shown, compared and hashed by their fields.
    A method the class writes itself is kept, as ``dataclass`` keeps it."""
    own = set(vars(cls))
    made = dataclasses.dataclass(cls, repr=False, eq=False)
    written: Any = made  # what the methods and the names of the fields are set on
    fields = dataclasses.fields(written)
    written.__settable__ = frozenset(  # what ``__init__`` assigns (not a default left on the class)
        field.name for field in fields
        if field.init or field.default_factory is not dataclasses.MISSING)
    written.__shown__ = tuple(field.name for field in fields if field.repr)
    written.__compared__ = tuple(field.name for field in fields if field.compare)
    written.__hashed__ = tuple(
        field.name for field in fields if (field.compare if field.hash is None else field.hash))
    for name, method in (("__setattr__", _set_once), ("__delattr__", _never_deleted),
                         ("__repr__", _shown), ("__eq__", _equal), ("__hash__", _hash_of_fields)):
        if name not in own:
            setattr(written, name, method)
    return made


def _set_once(self: Any, name: str, value: object) -> None:
    """Each field once, as ``__init__`` sets it (a plain dataclass's ``__init__`` assigns
    ``self.name = value``); after that, what a frozen dataclass says."""
    if name in self.__dict__ or name not in self.__settable__:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _never_deleted(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


@reprlib.recursive_repr()
def _shown(self: Any) -> str:
    fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__shown__)
    return f"{self.__class__.__qualname__}({fields})"


def _equal(self: Any, other: object) -> Any:  # a bool, or NotImplemented
    names: tuple[str, ...] = self.__compared__
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self, names) == _values(other, names)


def _hash_of_fields(self: Any) -> int:
    return hash(_values(self, self.__hashed__))


def _values(each: object, names: tuple[str, ...]) -> tuple[object, ...]:
    return tuple(getattr(each, name) for name in names)
