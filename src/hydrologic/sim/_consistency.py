"""Checking ``assert_has_consistency_of`` claims: once an execution settles, every member of the
cluster must hold the same value of the claimed collection (HL612).

A claim is a nondet site (the builder cannot see why the members converge), so the simulator
tests it instead of trusting it, the way it tests ``commutative=``/``idempotent=`` proofs
(``_claims.py``). "Settled" is the end of the scenario after running every pending unit to
quiescence: no more input, every message delivered. Executions that may crash members or change
the membership, and programs with ``lossy_delayed_forever`` channels (whose lost messages the
simulator explores as never delivered), are not checked: there the members need not converge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..ir.node import Node
from ..runtime.ops.base import ABSENT
from ..types.errors import ConsistencyClaimError

if TYPE_CHECKING:
    from ._instance import SimInstance

__all__ = ["claimed_consistent", "check_consistency_claims"]


def claimed_consistent(nodes: list[Node]) -> list[Node]:
    """The ``assert_has_consistency_of`` nodes on clusters the simulator can check, or none if
    the program has a ``lossy_delayed_forever`` channel."""
    if any(n.op == "network" and n.params.get("channel") == "lossy_delayed_forever" for n in nodes):
        return []
    return [n for n in nodes if n.op == "assert_consistency" and n.root.is_cluster]


def check_consistency_claims(inst: SimInstance, claims: list[Node]) -> None:
    """Raise ``ConsistencyClaimError`` naming the first claim whose members' values differ."""
    budget = inst.faults.budget
    if budget.crashes or budget.leaves or budget.joins:
        return
    for node in claims:
        values: list[tuple[int, Any]] = []
        for member, i in enumerate(inst.plan.by_loc[node.root.id]):
            st = inst.locs[i]
            if st.dead:
                continue
            values.append((member, getattr(st.rt.ops[node.id], "value", ABSENT)))
        if any(v != values[0][1] for _, v in values[1:]):
            shown = "; ".join(f"member {m}: {'(no value)' if v is ABSENT else repr(v)}" for m, v in values)
            raise ConsistencyClaimError(
                f"HL612: `assert_has_consistency_of` at {node.site} claimed EventualConsistency, but once "
                f"the execution settled the members of {node.root} held different values ({shown}). "
                "Make the members converge (send them the same data, keep per-member inputs out of the "
                "value), or drop the claim."
            )
