"""Frozen dataclasses at the price of plain ones: the sandbox's records (scenarios, events,
resources, profiles) are immutable, and defining them is part of every command's start-up.

Before Python 3.13, ``dataclass`` compiles each method it writes separately, and ``frozen=True``
writes three more (``__setattr__``, ``__delattr__``, ``__hash__``): about twice the time of a
plain dataclass, some 0.4 ms a class, and the ~90 records of a run cost ~20 ms of the 2x the
start-up may take (``benchmarks/run_all_sim.py``). :func:`record` makes a plain dataclass and
gives it those three once-written methods instead: what a frozen one does, checked by
``tests/unit/test_records.py`` against ``dataclass(frozen=True)`` itself.
"""

from __future__ import annotations

import dataclasses
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
    nothing else is set or deleted; equal records hash alike."""
    made = dataclasses.dataclass(cls)
    written: Any = made  # what the three methods are set on
    fields = dataclasses.fields(written)
    written.__setattr__, written.__delattr__ = _set_once, _never_deleted
    written.__hash__ = _hash_of_fields
    written.__settable__ = frozenset(  # what ``__init__`` assigns (not a default left on the class)
        field.name for field in fields
        if field.init or field.default_factory is not dataclasses.MISSING)
    written.__hashed__ = tuple(
        field.name for field in fields if (field.compare if field.hash is None else field.hash))
    return made


def _set_once(self: Any, name: str, value: object) -> None:
    """Each field once, as ``__init__`` sets it (a plain dataclass's ``__init__`` assigns
    ``self.name = value``); after that, what a frozen dataclass says."""
    if name in self.__dict__ or name not in self.__settable__:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _never_deleted(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _hash_of_fields(self: Any) -> int:
    return hash(tuple(getattr(self, name) for name in self.__hashed__))
