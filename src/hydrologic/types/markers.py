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
    "Monotonic",
    "ExactlyOnce",
    "NoConsistency",
    "EventualConsistency",
    "NoOrder",
    "TotalOrder",
    "Unbounded",
    "min_order",
    "min_retries",
    "min_bound",
    "forget_monotonic",
    "marker_name",
]


class Unbounded:
    """The collection may keep growing; its contents are never complete within a tick."""


class Monotonic(Unbounded):
    """A singleton whose value only grows (each new value ``>=`` the last), or a keyed singleton
    whose keys are only added and whose values only grow.

    A monotone value can be compared against a threshold with no ``nondet``: the answer flips
    from false to true at most once, so when it is read cannot change what is seen
    (``threshold_greater_or_equal``). Produced by ``count()``/``value_counts()`` at the top level
    and by ``fold(..., monotone=proof("why"))``; kept by ``map(..., order_preserving=proof(...))``
    and ``zip``; forgotten by every other operator (a plain ``map`` could make it shrink).
    """


class Bounded(Monotonic):
    """The whole contents are available synchronously within the current tick.

    A bounded value never changes, so it is also (trivially) ``Monotonic``.
    """


class NoOrder:
    """Element order may depend on nondeterminism (network interleaving, hashing, ...)."""


class TotalOrder(NoOrder):
    """No nondeterminism other than marked ``nondet`` sites affects element order."""


class AtLeastOnce:
    """Elements may be duplicated (retries), though none is silently dropped."""


class ExactlyOnce(AtLeastOnce):
    """Each element appears exactly once."""


class NoConsistency:
    """The members of a cluster may hold different values of this collection for good (e.g.
    each member's own input, or what a nondet site let each member see)."""


class EventualConsistency(NoConsistency):
    """At steady state (no more input, every message delivered) every member of the cluster
    holds the same value of this collection.

    It rides in the location type, ``Cluster[Tag, EventualConsistency]`` (``Cluster[Tag]`` means
    ``NoConsistency``), so mypy and pyright check it where a program requires it
    (``make_eventually_consistent``, or a parameter typed so); the builder derives it again from
    the graph (HL112), where constants count as consistent too (their type does not say so).
    ``broadcast_closed`` over a fail-stop channel produces it,
    deterministic operators keep it, and per-member inputs (``sim_input``, external ports,
    ``self_id``, ``demux``, ``round_robin``, ``broadcast`` to the members of the moment, timers),
    nondet sites (``batch``, ``snapshot``, ...), lossy channels and ``weaken_consistency()`` drop it.
    """


def min_order(a: type[NoOrder], b: type[NoOrder]) -> type[NoOrder]:
    """The weaker of two orderings: what a combination of both inputs can still promise."""
    return TotalOrder if (a is TotalOrder and b is TotalOrder) else NoOrder


def min_retries(a: type[AtLeastOnce], b: type[AtLeastOnce]) -> type[AtLeastOnce]:
    """The weaker of two retry guarantees."""
    return ExactlyOnce if (a is ExactlyOnce and b is ExactlyOnce) else AtLeastOnce


def min_bound(a: type[Unbounded], b: type[Unbounded]) -> type[Unbounded]:
    """The weaker of two boundedness guarantees (Bounded ⊂ Monotonic ⊂ Unbounded)."""
    if a is Bounded and b is Bounded:
        return Bounded
    if issubclass(a, Monotonic) and issubclass(b, Monotonic):
        return Monotonic
    return Unbounded


def forget_monotonic(b: type[Unbounded] | None) -> type[Unbounded] | None:
    """``b`` with monotonicity dropped: what an operator that may shrink the value keeps."""
    return Unbounded if b is Monotonic else b


def marker_name(marker: type[object] | None) -> str:
    return "—" if marker is None else marker.__name__
