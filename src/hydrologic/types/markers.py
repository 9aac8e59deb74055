"""Guarantee markers: the phantom types that say what a live collection promises.

Each axis is a two-class lattice in which the *stronger* guarantee subclasses the *weaker* one.
Because the collection type variables are covariant, a ``Stream[..., TotalOrder]`` is accepted
wherever a ``Stream[..., NoOrder]`` is expected: weakening is free and implicit, while
strengthening needs an escape hatch (``assume_ordering(nondet(...))``).

The same classes are stored on every collection at run time, so the builder can repeat each
static check with the same verdict.
"""

from __future__ import annotations

__all__ = [
    "AtLeastOnce",
    "Bounded",
    "ExactlyOnce",
    "NoOrder",
    "TotalOrder",
    "Unbounded",
    "min_order",
    "min_retries",
    "min_bound",
    "marker_name",
]


class Unbounded:
    """The collection may keep growing; its contents are never complete within a tick."""


class Bounded(Unbounded):
    """The whole contents are available synchronously within the current tick."""


class NoOrder:
    """Element order may depend on nondeterminism (network interleaving, hashing, ...)."""


class TotalOrder(NoOrder):
    """No nondeterminism other than marked ``nondet`` sites affects element order."""


class AtLeastOnce:
    """Elements may be duplicated (retries), though none is silently dropped."""


class ExactlyOnce(AtLeastOnce):
    """Each element appears exactly once."""


def min_order(a: type[NoOrder], b: type[NoOrder]) -> type[NoOrder]:
    """The weaker of two orderings: what a combination of both inputs can still promise."""
    return TotalOrder if (a is TotalOrder and b is TotalOrder) else NoOrder


def min_retries(a: type[AtLeastOnce], b: type[AtLeastOnce]) -> type[AtLeastOnce]:
    """The weaker of two retry guarantees."""
    return ExactlyOnce if (a is ExactlyOnce and b is ExactlyOnce) else AtLeastOnce


def min_bound(a: type[Unbounded], b: type[Unbounded]) -> type[Unbounded]:
    """The weaker of two boundedness guarantees."""
    return Bounded if (a is Bounded and b is Bounded) else Unbounded


def marker_name(marker: type[object] | None) -> str:
    return "—" if marker is None else marker.__name__
