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
from ._decider import Decider
from ._hooks import InlinePermute, fixed_value
from ._instance import SimInstance
from ._location import SimLocation
from ._network import Network
from ._plan import Plan
from ._scheduler import Scheduler, Unit

__all__ = ["NaiveInstance"]

Flight = tuple[int, int, Any, Any]
"""(target instance, inbox node, channel key, item); a channel delivers in FIFO order."""


class NaiveInstance(SimInstance):
    def __init__(self, plan: Plan, chooser: Chooser) -> None:
        self.flight: list[Flight] = []
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
            st.ops_replaced()  # the first pass bound the simulator's operators: bind these

    def _new_decider(self, chooser: Chooser) -> Decider:
        return _NaiveDecider(chooser, self.trace)

    def _new_network(self) -> Network:
        return _NaiveNetwork(self.plan, self.locs, self.decider, self.flight)

    def _new_scheduler(self) -> Scheduler:
        return _NaiveScheduler(self.plan, self.locs, self.decider, self.flight)

    def input_send(self, node: Node, values: list[Any], member: int | None, unordered: bool) -> None:
        if unordered:
            # every message its own channel: any delivery order is possible
            idxs = self.plan.by_loc[node.root.id]
            target = idxs[member or 0]
            for x in values:
                self._fresh += 1
                self.flight.append((target, node.id, ("u", self._fresh), x))
            self.network.settle()
            return
        super().input_send(node, values, member, False)

    def _order_sensitive(self, node: Node) -> bool:
        return False

    def run_unit(self, u: Unit) -> None:
        if u[1] != 2:
            super().run_unit(u)
            return
        target, node_id, _, x = self.flight.pop(u[2])
        op = self.locs[target].rt.ops[node_id]
        assert isinstance(op, Inbox)
        op.pending.append(x)
        self.network.dirty.add(target)
        self.steps_run += 1
        self.network.settle()

    def output_drain(self, node: Node) -> list[Any]:
        self._alive()
        self.run_until_quiet()
        return self._drain(node)


class _NaiveNetwork(Network):
    """Every delivery waits in ``flight`` until the scheduler runs it (a unit of kind 2)."""

    def __init__(self, plan: Plan, locs: list[SimLocation], decider: Decider, flight: list[Flight]) -> None:
        super().__init__(plan, locs, decider)
        self.flight = flight

    def deliver(self, index: int, node_id: int, items: list[Any]) -> None:
        for x in items:
            self.flight.append((index, node_id, (index, node_id), x))


class _NaiveScheduler(Scheduler):
    """Every runnable tick and the head of every channel, all interleaved, no reduction."""

    def __init__(self, plan: Plan, locs: list[SimLocation], decider: Decider, flight: list[Flight]) -> None:
        super().__init__(plan, locs, decider)
        self.flight = flight

    def runnable(self, restrict: frozenset[int] | None) -> list[Unit]:
        out = super().runnable(None)
        heads: set[Any] = set()
        for i, (target, _, chan, _) in enumerate(self.flight):
            if chan not in heads:
                heads.add(chan)
                out.append((target, 2, i))
        return out

    def pick(self, cands: list[Unit]) -> Unit:
        self.chosen_among = len(cands)
        return cands[self.decider.choose(len(cands))]


class _NaiveDecider(Decider):
    """A tick takes everything delivered so far; a snapshot shows the latest version."""

    def decide_batch(self, st: SimLocation, node: Node, forced: bool) -> bool:
        op = st.rt.ops[node.id]
        assert isinstance(op, Batch)
        out, op.pending = op.pending, []
        op.release = lambda b, p: out  # pyright: ignore[reportUnknownLambdaType]
        return bool(out)

    def decide_snapshot(self, st: SimLocation, node: Node, forced: bool) -> bool:
        op = st.rt.ops[node.id]
        assert isinstance(op, Snapshot)
        vs: list[Any] = st.versions[node.id]
        if vs:
            st.current[node.id] = vs[-1]
            vs.clear()
        op.choose = lambda s, v: fixed_value(st.current[node.id], s, v)  # pyright: ignore[reportUnknownLambdaType]
        return True
