"""The dataflow graph's vocabulary: locations, ticks and operator nodes.

A node is one operator application. It records what the live-collection types promised when it
was built (kind, boundedness, order, retries), where in the user's program it was built, which
node introduced each weak guarantee (for error messages), and the user functions it will run.
Nothing here executes anything; the runtime compiles nodes into batch operators.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..types.markers import AtLeastOnce, NoOrder, Unbounded, marker_name
from ..types.nondet import NonDet, Proof
from ..types.site import Site
from .ops import spec_of

__all__ = ["LocationInfo", "TickInfo", "AtomicInfo", "Scope", "Node", "root_of", "COLLECTION_KINDS"]

COLLECTION_KINDS = ("stream", "keyed_stream", "singleton", "optional", "keyed_singleton")

@dataclass(eq=False)
class LocationInfo:
    """A top-level location: a process, a cluster, or an external client."""

    id: int
    kind: str  # "process" | "cluster" | "external"
    tag: type[Any]
    name: str
    # Why this location's instances must not be restarted (their state is in memory only and
    # forgetting it would break the program), or None if a restart is safe.
    no_restart: str | None = None

    def __str__(self) -> str:
        return f"{self.kind.capitalize()}[{self.name}]"

    @property
    def is_cluster(self) -> bool:
        return self.kind == "cluster"


@dataclass(eq=False)
class TickInfo:
    """A logical clock nested in one top-level location."""

    id: int
    outer: LocationInfo
    site: Site
    atomic: AtomicInfo | None = None
    # Made by an argument-free ``atomic()`` for its section: the first sliced region that reads
    # the section adopts it (``lang/sliced.py``), so the section and the region share one tick.
    implicit: bool = False

    def atomic_scope(self) -> AtomicInfo:
        if self.atomic is None:
            self.atomic = AtomicInfo(self)
        return self.atomic

    def __str__(self) -> str:
        return f"Tick#{self.id}[{self.outer}]"


@dataclass(eq=False)
class AtomicInfo:
    """Top-level processing made synchronous with one tick (atomicity).

    Collections here keep top-level semantics (state persists, deltas flow), but everything
    derived from them is computed within the tick that received the input, so an output released
    from an atomic input happens-before every later ``snapshot_atomic`` of that tick's location.
    """

    tick: TickInfo

    @property
    def outer(self) -> LocationInfo:
        return self.tick.outer

    def __str__(self) -> str:
        return f"Atomic[{self.tick}]"


Scope = LocationInfo | TickInfo | AtomicInfo


def root_of(scope: Scope) -> LocationInfo:
    return scope if isinstance(scope, LocationInfo) else scope.outer


@dataclass(eq=False)
class Node:
    """One operator application in the graph."""

    id: int
    op: str
    inputs: list[Node]
    scope: Scope
    kind: str  # one of COLLECTION_KINDS, or "sink"
    bound: type[Unbounded] | None
    order: type[NoOrder] | None
    retries: type[AtLeastOnce] | None
    site: Site
    params: dict[str, Any] = field(default_factory=lambda: {})
    nondet: NonDet | None = None
    proofs: dict[str, Proof] = field(default_factory=lambda: {})
    # Which node made each guarantee weak, so errors can say where the weakness came from.
    order_origin: Node | None = None
    retries_origin: Node | None = None
    bound_origin: Node | None = None

    @property
    def root(self) -> LocationInfo:
        return root_of(self.scope)

    @property
    def in_tick(self) -> bool:
        return isinstance(self.scope, TickInfo)

    @property
    def method(self) -> str:
        """The name of the method the user called to build this node."""
        if "method" in self.params:
            return str(self.params["method"])
        if self.op == "network":
            return str(self.params["mode"])
        if self.op == "merge" and self.nondet is not None:
            return "merge_ordered"
        return spec_of(self.op).method

    def describe(self) -> str:
        """`method` at file:line — how errors and traces name this node."""
        return f"`{self.method}` at {self.site}"

    def type_str(self) -> str:
        parts = [str(self.scope)]
        if self.bound is not None:
            parts.append(marker_name(self.bound))
        if self.order is not None:
            parts.append(marker_name(self.order))
        if self.retries is not None:
            parts.append(marker_name(self.retries))
        kind = "".join(w.capitalize() for w in self.kind.split("_"))
        return f"{kind}[{', '.join(parts)}]"

    def __repr__(self) -> str:
        return f"<Node {self.id} {self.op} {self.type_str()} at {self.site}>"
