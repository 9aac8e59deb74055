"""Graph passes shared by the builder's checks and the runtime's scheduler.

``strata`` orders the nodes of one location into strongly connected components, in dependency
order, ignoring next-tick edges (``defer_tick``, ``tick.cycle``) and network edges. A component
with more than one node (or a self-loop) is a same-tick cycle that runs to fixpoint; a blocking
input inside such a component is the error HL402.
"""

from __future__ import annotations

from .node import Node
from .ops import blocking_inputs

__all__ = ["intra_tick_inputs", "strata", "blocking_cycle"]

def intra_tick_inputs(node: Node) -> list[tuple[int, Node]]:
    """Inputs that must be computed earlier in the same tick at the same location."""
    if node.op == "network":
        return []
    deferred: tuple[int, ...] = node.params.get("deferred", ())
    return [(i, n) for i, n in enumerate(node.inputs) if i not in deferred]


def strata(nodes: list[Node]) -> list[list[Node]]:
    """Tarjan's SCCs over intra-tick edges, returned in dependency (topological) order.

    Within a component, nodes keep build order, which is also a topological order of its acyclic
    part, so a fixpoint pass over them propagates data forward in one sweep.
    """
    members = {n.id for n in nodes}
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[Node] = []
    out: list[list[Node]] = []
    counter = 0

    # Iterative Tarjan: programs can be deep enough to hit the recursion limit.
    for root in nodes:
        if root.id in index:
            continue
        work: list[tuple[Node, int]] = [(root, 0)]
        while work:
            node, pos = work.pop()
            if pos == 0:
                index[node.id] = low[node.id] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node.id)
            deps = [d for _, d in intra_tick_inputs(node) if d.id in members]
            recurse = False
            for j in range(pos, len(deps)):
                d = deps[j]
                if d.id not in index:
                    work.append((node, j + 1))
                    work.append((d, 0))
                    recurse = True
                    break
                if d.id in on_stack:
                    low[node.id] = min(low[node.id], index[d.id])
            if recurse:
                continue
            if low[node.id] == index[node.id]:
                comp: list[Node] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w.id)
                    comp.append(w)
                    if w is node:
                        break
                comp.sort(key=lambda n: n.id)
                out.append(comp)
            if work:
                parent = work[-1][0]
                low[parent.id] = min(low[parent.id], low[node.id])
    return out


def is_cyclic(comp: list[Node]) -> bool:
    if len(comp) > 1:
        return True
    n = comp[0]
    return any(d is n for _, d in intra_tick_inputs(n))


def blocking_cycle(comp: list[Node]) -> tuple[Node, Node] | None:
    """In a cyclic component, a (blocking operator, its input) pair that lies on the cycle."""
    if not is_cyclic(comp):
        return None
    ids = {n.id for n in comp}
    for n in comp:
        for i, d in intra_tick_inputs(n):
            if d.id in ids and i in blocking_inputs(n.op):
                return n, d
    return None
