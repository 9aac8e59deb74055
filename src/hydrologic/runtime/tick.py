"""The tick engine of one location (a process or one cluster member).

A tick (SPEC §7): take the input that is ready, run the location's graph once in stratified
order over whole batches, iterate same-tick cycles to fixpoint, capture what deferred operators
carry into the next tick, and reset tick-scoped state. Data moves between operators as delta
lists in per-edge inboxes; scalar collections are read from their producer's ``value``.
"""

from __future__ import annotations

from typing import Any, Callable

from ..ir.graph import Graph
from ..ir.node import LocationInfo, Node
from ..ir.passes import is_cyclic, strata
from ..types.errors import HydroRuntimeError, UserFunctionError
from .ops import OP_CLASSES, Batch, Deferred, Inbox, Op, OutputSink, RuntimeContext

__all__ = ["LocationRuntime", "Egress"]

Egress = Callable[[Node, "int | None", list[Any]], None]

MAX_FIXPOINT_PASSES = 100_000


class LocationRuntime:
    """Runs the part of a graph placed on one location instance."""

    def __init__(
        self,
        graph: Graph,
        loc: LocationInfo,
        member: int | None,
        cluster_sizes: dict[int, int],
        egress: Egress,
    ) -> None:
        self.loc = loc
        self.member = member
        self.name = str(loc) if member is None else f"{loc}/{member}"
        self.egress = egress
        self.ticks_run = 0
        ctx = RuntimeContext(member, cluster_sizes)
        nodes = graph.nodes_at(loc)
        self.ops: dict[int, Op] = {}
        for n in nodes:
            cls = OP_CLASSES.get(n.op)
            if cls is None:  # pragma: no cover - every lang op has a runtime op (tested)
                raise HydroRuntimeError(f"no runtime operator for `{n.op}` ({n.describe()})")
            try:
                self.ops[n.id] = cls(n, ctx)
            except HydroRuntimeError:  # pragma: no cover
                raise
            except Exception as e:  # e.g. a fold's init() computing the initial state
                if cls.user_fn:
                    raise UserFunctionError(n.method, n.site, self.name, e) from e
                raise
        # Who consumes each producer's deltas: (consumer id, input index). Deferred edges too:
        # their inbox fills during the tick and is captured at its end.
        self.consumers: dict[int, list[tuple[int, int]]] = {n.id: [] for n in nodes}
        self.inbox: dict[tuple[int, int], list[list[Any]]] = {}
        self.egress_of: dict[int, list[Node]] = {}
        for n in graph.nodes:
            if n.op == "network" and n.inputs and n.inputs[0].root is loc:
                self.egress_of.setdefault(n.inputs[0].id, []).append(n)
        for n in nodes:
            if n.op == "network":
                continue
            for i, d in enumerate(n.inputs):
                if d.root is not loc:  # pragma: no cover - only network nodes cross locations
                    continue
                p = self.ops[d.id]
                if not (p.scalar or p.by_reference):
                    self.consumers[d.id].append((n.id, i))
                    self.inbox[(n.id, i)] = []
        self.plans = {n.id: self._input_plan(n) for n in nodes}
        self.plan: list[tuple[bool, list[Node]]] = [(is_cyclic(c), c) for c in strata(nodes)]
        self.inboxes = [op for op in self.ops.values() if isinstance(op, Inbox)]
        self.deferred = [op for op in self.ops.values() if isinstance(op, Deferred)]
        self.batches = [op for op in self.ops.values() if isinstance(op, Batch)]
        self.sinks = {op.node.id: op for op in self.ops.values() if isinstance(op, OutputSink)}

    # ---- scheduling -------------------------------------------------------------------------

    def has_work(self) -> bool:
        if self.ticks_run == 0:
            return True
        if any(op.pending for op in self.inboxes):
            return True
        if any(op.release is not None and op.pending for op in self.batches):
            return True
        return any(op.has_work() for op in self.deferred)

    def deliver(self, node_id: int, items: list[Any]) -> None:
        op = self.ops[node_id]
        assert isinstance(op, Inbox)
        op.pending.extend(items)

    def tick(self) -> None:
        for cyclic, comp in self.plan:
            if not cyclic:
                for n in comp:
                    self._run(n)
                continue
            ids = {n.id for n in comp}
            internal = [k for k in self.inbox if k[0] in ids]
            for _ in range(MAX_FIXPOINT_PASSES):
                for n in comp:
                    self._run(n)
                if not any(self.inbox[k] for k in internal if not _is_deferred(self.ops[k[0]].node, k[1])):
                    break
            else:  # pragma: no cover - a diverging user cycle
                raise HydroRuntimeError(
                    f"{self.name}: same-tick cycle through {comp[0].describe()} did not reach a fixpoint "
                    f"after {MAX_FIXPOINT_PASSES} passes (does it keep producing new elements?)"
                )
        for dop in self.deferred:
            node = dop.node
            idx: int = node.params["deferred"][0]
            if idx >= len(node.inputs):  # pragma: no cover - build() rejects incomplete cycles
                continue
            src = self.ops[node.inputs[idx].id]
            dop.capture(src if (src.scalar or src.by_reference) else self._take((node.id, idx)))
        for op in self.ops.values():
            try:
                op.end_tick()
            except HydroRuntimeError:  # pragma: no cover
                raise
            except Exception as e:  # resetting tick state calls init() again
                if op.user_fn:
                    raise UserFunctionError(op.node.method, op.node.site, self.name, e) from e
                raise
        self.ticks_run += 1

    # ---- one operator -------------------------------------------------------------------------

    def _take(self, key: tuple[int, int]) -> list[Any]:
        chunks = self.inbox[key]
        if not chunks:
            return []
        self.inbox[key] = []
        if len(chunks) == 1:
            return chunks[0]
        out: list[Any] = []
        for c in chunks:
            out.extend(c)
        return out

    def _input_plan(self, n: Node) -> list[tuple[int, Any]]:
        """How ``_run`` gathers each input: 0 = deferred (skip), 1 = producer op, 2 = inbox key."""
        if n.op == "network":
            return []
        plan: list[tuple[int, Any]] = []
        deferred: tuple[int, ...] = n.params.get("deferred", ())
        for i, d in enumerate(n.inputs):
            if i in deferred:
                plan.append((0, None))
                continue
            p = self.ops[d.id]
            plan.append((1, p) if (p.scalar or p.by_reference) else (2, (n.id, i)))
        return plan

    def _run(self, n: Node) -> None:
        op = self.ops[n.id]
        ins: list[Any] = []
        for how, what in self.plans[n.id]:
            ins.append(None if how == 0 else what if how == 1 else self._take(what))
        try:
            out = op.run(ins)
        except HydroRuntimeError:
            raise
        except Exception as e:
            if op.user_fn:
                raise UserFunctionError(n.method, n.site, self.name, e) from e
            raise
        if out:
            for key in self.consumers[n.id]:
                self.inbox[key].append(out)
            for net in self.egress_of.get(n.id, ()):
                self.egress(net, self.member, out)


def _is_deferred(node: Node, idx: int) -> bool:
    return idx in node.params.get("deferred", ())
