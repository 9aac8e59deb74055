"""Which collections on a cluster are eventually consistent: every member converges on one value.

The types carry this as ``Cluster[Tag, Con]`` (``NoConsistency`` by default,
``EventualConsistency`` where "at steady state the live collection resolves to the same value
across all members"), as Hydro's do, and mypy and pyright check it where a program requires it.
The builder derives it again from the graph, the same way for every collection, and checks it at
the same places (``make_eventually_consistent``, HL112): a program that silences a type checker,
or a cycle completed with a collection its handle's type did not describe, is still caught.

The rules, for a node whose location is a cluster (on a process there is one member, so every
collection is trivially consistent):

- **made consistent**: constants (``source_iter``, ``singleton``, ``none``, ``optional_first_tick``,
  the static ``cluster_members``), ``broadcast_closed`` received over a fail-stop or
  delayed-forever channel (every member of a fixed membership gets every element; a *lossy*
  channel drops them member by member), and ``assert_has_consistency_of`` (a claim the simulator
  checks once an execution settles);
- **made inconsistent**: every other source on the cluster (each member's own ``sim_input``, external
  ports, ``self_id``, timers, ``spin``, async sources, ``demux``, ``round_robin``, and ``broadcast``,
  which reaches the members of the moment, so a member that joins later misses what came before),
  every node that carries a nondet token (``batch``, ``snapshot``, ``assume_ordering``, ... : what
  it decides may differ per member), and ``weaken_consistency()``;
- **kept**: every other operator is a deterministic function of its inputs, so its output is
  consistent exactly when all its inputs are.

Cycles (``forward_ref``, ``tick.cycle``) are read coinductively, as Hydro's types read them: a
cycle is consistent if everything entering it is. The fixpoint below starts from "consistent"
everywhere and only ever removes it, so it finds exactly that greatest solution.
"""

from __future__ import annotations

from .node import Node

__all__ = ["CONSISTENT_SOURCES", "inconsistency_origins", "fixed_membership"]

# sources whose value is the same on every member (constants of the program)
CONSISTENT_SOURCES = frozenset({"source_iter", "singleton", "none", "optional_first_tick", "cluster_members"})


# cycle heads: their input is attached when the cycle's handle is completed
_COMPLETED_LATER = frozenset({"forward_ref", "cycle"})


def _closed_broadcast(n: Node) -> bool:
    return n.op == "network" and n.params["mode"] == "broadcast" and bool(n.params.get("closed"))


def _makes_inconsistent(n: Node) -> bool:
    """Does ``n`` itself (whatever its inputs) make the members' values differ?"""
    if n.op == "assert_consistency":
        return False
    if n.op == "cast" and n.params.get("consistency") == "none":
        return True
    if n.op == "network":
        return not _closed_broadcast(n) or n.params["channel"] == "lossy"
    if n.nondet is not None:
        return True
    return not n.inputs and n.op not in CONSISTENT_SOURCES and n.op not in _COMPLETED_LATER


def inconsistency_origins(nodes: list[Node]) -> dict[int, Node]:
    """For every inconsistent node on a cluster among ``nodes`` (ids in build order), the node
    that introduced the inconsistency (itself, or an upstream one)."""
    origin: dict[int, Node] = {}
    changed = True
    while changed:  # a greatest fixpoint: each pass only adds inconsistent nodes
        changed = False
        for n in nodes:
            if n.id in origin or not n.root.is_cluster:
                continue
            if _makes_inconsistent(n):
                origin[n.id] = n
                changed = True
                continue
            if n.op == "assert_consistency" or (n.op == "network" and _closed_broadcast(n)):
                continue  # a claim, or a broadcast: consistent whatever the input
            for i in n.inputs:
                if i.id in origin:
                    origin[n.id] = origin[i.id]
                    changed = True
                    break
    return origin


def fixed_membership(nodes: list[Node]) -> dict[int, Node]:
    """The clusters (by location id) that a ``broadcast_closed`` targets, each with one such node.

    ``broadcast_closed`` promises every member every element, which holds only if the cluster
    keeps the members it started with: deployments refuse to add or remove members of these
    clusters, and the simulator never makes them join or leave.
    """
    return {n.params["to"].id: n for n in nodes if _closed_broadcast(n)}
