"""The first events of every ``peer_liveness`` source, the same for every driver.

Each driver (in process, simulator, deployment) starts a location's liveness sources with one
event per member of the watched peer, so a program sees the same opening whichever way it runs:
``UP(n)`` for a live member of incarnation ``n``, ``DOWN(n)`` for one that is down.
"""

from __future__ import annotations

from typing import Any, Callable

from ..ir.graph import Graph
from ..ir.node import LocationInfo, Node
from ..lang.liveness import Liveness
from ..lang.location import MemberId

__all__ = ["liveness_sources", "opening_events", "members_of"]

State = Callable[[int, "int | None"], "Liveness | None"]
"""(peer location id, member) -> its current state, None for a member not in the cluster (yet);
in process ``UP(0)``."""


LIVENESS_OPS = frozenset({"peer_liveness", "cluster_membership"})
"""Sources fed the liveness of a peer: ``source_cluster_members`` is a view of the same events."""


def liveness_sources(graph: Graph, loc: LocationInfo) -> list[Node]:
    return [n for n in graph.nodes if n.op in LIVENESS_OPS and n.root is loc]


def members_of(peer: LocationInfo, sizes: dict[int, int]) -> list[int | None]:
    return list(range(sizes[peer.id])) if peer.is_cluster else [None]


def opening_events(node: Node, sizes: dict[int, int], state: State | None = None) -> list[tuple[MemberId[Any], Liveness]]:
    peer: LocationInfo = node.params["peer"]
    out: list[tuple[MemberId[Any], Liveness]] = []
    for m in members_of(peer, sizes):
        seen = state(peer.id, m) if state is not None else Liveness.up(0)
        if seen is not None:
            out.append((MemberId.of_cluster(m, peer.id) if m is not None else MemberId(0), seen))
    return out
