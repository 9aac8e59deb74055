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


class _Output(Generic[T]):
    # Plain slotted classes, not frozen dataclasses: a step builds one per element, and a frozen
    # dataclass's __init__ (object.__setattr__ per field) costs several times more.
    __slots__ = ("value",)
    __match_args__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value: T = value  # set once here, never reassigned

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.value == self.value  # pyright: ignore[reportUnknownMemberType]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.value))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.value!r})"


class Yield(_Output[T]):
    """Emit ``value`` and keep processing."""

    __slots__ = ()


class Return(_Output[T]):
    """Emit ``value`` as the final output; ignore every later element (of this key)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Continue:
    """Emit nothing; keep processing."""


@dataclass(frozen=True, slots=True)
class Break:
    """Emit nothing; ignore every later element (of this key)."""


Generate = Union[Yield[T], Return[T], Continue, Break]
