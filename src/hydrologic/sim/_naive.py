"""A naive explorer, kept only as a baseline for ``bench/bench_sim.py``.

It explores the way a generic model checker or a randomized deterministic-simulation framework
would, without the language's guarantees: every single message delivery (test input or network)
is its own scheduling event, interleaved with every tick, and a tick simply takes everything
delivered so far (as the real runtime does). Nondeterminism therefore comes only from delivery
interleavings; there is no persistent set, no sleep set and no lazy scheduling. It finds the same
bugs, after many more executions, which is what the benchmark measures.
"""

from __future__ import annotations

from typing import Any

from ..ir.node import Node
from ..runtime.ops import OP_CLASSES, Batch, Inbox, PassThrough, RuntimeContext, Snapshot
from ._choices import Chooser
from ._hooks import InlinePermute
from ._instance import SimInstance, Unit, _fixed_value  # pyright: ignore[reportPrivateUsage]
from ._plan import Plan

__all__ = ["NaiveInstance"]


class NaiveInstance(SimInstance):
    def __init__(self, plan: Plan, chooser: Chooser) -> None:
        # (target instance, inbox node, channel key, item); a channel delivers in FIFO order
        self.flight: list[tuple[int, int, Any, Any]] = []
        self._fresh = 0
        super().__init__(plan, chooser)
        for st in self.locs:
            ctx = RuntimeContext(st.info.member, plan.sizes)
            for k, op in list(st.rt.ops.items()):
                if isinstance(op, InlinePermute):
                    st.rt.ops[k] = PassThrough(op.node, ctx)
            for obs in st.observers:  # order = delivery order: plain pass-through / merge
                st.rt.ops[obs.node.id] = OP_CLASSES[obs.node.op](obs.node, ctx)
            st.observers = []

    def _deliver(self, index: int, node_id: int, items: list[Any]) -> None:
        for x in items:
            self.flight.append((index, node_id, (index, node_id), x))

    def input_send(self, node: Node, values: list[Any], member: int | None, unordered: bool) -> None:
        if unordered:
            # every message its own channel: any delivery order is possible
            idxs = self.plan.by_loc[node.root.id]
            target = idxs[member or 0]
            for x in values:
                self._fresh += 1
                self.flight.append((target, node.id, ("u", self._fresh), x))
            self.settle()
            return
        super().input_send(node, values, member, False)

    def _order_sensitive(self, node: Node) -> bool:
        return False

    def runnable(self, restrict: frozenset[int] | None) -> list[Unit]:
        out = super().runnable(None)
        heads: set[Any] = set()
        for i, (target, _, chan, _) in enumerate(self.flight):
            if chan not in heads:
                heads.add(chan)
                out.append((target, 2, i))
        return out

    def _pick(self, cands: list[Unit]) -> Unit:
        self._chosen_among = len(cands)
        return cands[self.choose(len(cands))]

    def run_unit(self, u: Unit) -> None:
        if u[1] != 2:
            super().run_unit(u)
            return
        target, node_id, _, x = self.flight.pop(u[2])
        op = self.locs[target].rt.ops[node_id]
        assert isinstance(op, Inbox)
        op.pending.append(x)
        self._dirty.add(target)
        self.steps_run += 1
        self.settle()

    def _decide_batch(self, st: Any, node: Node, forced: bool) -> bool:
        op = st.rt.ops[node.id]
        assert isinstance(op, Batch)
        out, op.pending = op.pending, []
        op.release = lambda b, p: out  # pyright: ignore[reportUnknownLambdaType]
        return bool(out)

    def _decide_snapshot(self, st: Any, node: Node, forced: bool) -> bool:
        op = st.rt.ops[node.id]
        assert isinstance(op, Snapshot)
        vs: list[Any] = st.versions[node.id]
        if vs:
            st.current[node.id] = vs[-1]
            vs.clear()
        op.choose = lambda s, v: _fixed_value(st.current[node.id], s, v)  # pyright: ignore[reportUnknownLambdaType]
        return True

    def output_drain(self, node: Node) -> list[Any]:
        self._alive()
        self.run_until_quiet()
        return self._drain(node)

