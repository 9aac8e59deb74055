"""What a ``generator`` step returns: emit or not, and go on or stop.

``Stream.generator`` and ``KeyedStream.generator`` run a small state machine over the elements
(per key, for a keyed stream). Each step gets the state and one element and returns the new state
with one of these four, which say what to emit and whether later elements are processed:

- ``Yield(x)``: emit ``x`` and keep going;
- ``Return(x)``: emit ``x`` as the last output; later elements (of that key) are ignored;
- ``Continue()``: emit nothing and keep going;
- ``Break()``: emit nothing and stop.

They are plain immutable values, so the runtime layer can recognise them without importing the
language layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar, Union

__all__ = ["Yield", "Return", "Continue", "Break", "Generate"]

T = TypeVar("T", covariant=True)


@dataclass(frozen=True, slots=True)
class Yield(Generic[T]):
    """Emit ``value`` and keep processing."""

    value: T


@dataclass(frozen=True, slots=True)
class Return(Generic[T]):
    """Emit ``value`` as the final output; ignore every later element (of this key)."""

    value: T


@dataclass(frozen=True, slots=True)
class Continue:
    """Emit nothing; keep processing."""


@dataclass(frozen=True, slots=True)
class Break:
    """Emit nothing; ignore every later element (of this key)."""


Generate = Union[Yield[T], Return[T], Continue, Break]
