"""The tick engine of one location (a process or one cluster member).

A tick: take the input that is ready, run the location's graph once in stratified
order over whole batches, iterate same-tick cycles to fixpoint, capture what deferred operators
carry into the next tick, and reset tick-scoped state. Data moves between operators as delta
lists in per-edge inboxes; scalar collections are read from their producer's ``value``.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Iterator, cast

from ..ir.graph import Graph
from ..ir.node import LocationInfo, Node
from ..ir.passes import is_cyclic, strata
from ..storage import MemoryStore, Store
from ..types.errors import HydroRuntimeError, UserFunctionError
from .compiled import compile_tick
from .ops import OP_CLASSES, Batch, Deferred, Inbox, Op, OutputSink, RuntimeContext
from .ops.base import Stateful

__all__ = ["LocationRuntime", "Egress", "EgressStream", "layouts_of", "resets_each_tick"]

Egress = Callable[[Node, "int | None", list[Any]], None]
# Sends a large output while it is being produced (see ``LocationRuntime.egress_stream``):
# takes the network nodes, the sender and an iterator over the output, returns the tail it
# did not send (possibly all of it) for the ordinary ``Egress`` at the end of the tick.
EgressStream = Callable[[tuple[Node, ...], "int | None", Iterator[Any]], list[Any]]

MAX_FIXPOINT_PASSES = 100_000

# Fuse chains of element-wise operators into their consumer (see ``_plan_fusion``). A switch
# for debugging and for drivers that must watch every operator's output (``fuse=False``).
FUSION = True

# Run the operators of a tick through one generated function per location (``compiled``), built
# when the first tick starts. A switch for debugging and for comparing against the generic path.
COMPILE = True


class LocationRuntime:
    """Runs the part of a graph placed on one location instance."""

    def __init__(
        self,
        graph: Graph,
        loc: LocationInfo,
        member: int | None,
        cluster_sizes: dict[int, int],
        egress: Egress,
        fuse: bool | None = None,
        store: Store | None = None,
        compiled: bool | None = None,
        egress_stream: EgressStream | None = None,
    ) -> None:
        self.loc = loc
        self.member = member
        self.name = str(loc) if member is None else f"{loc}/{member}"
        self.egress = egress
        # A deployed location's way to put a large output on the wire while the operator that
        # makes it is still running, so the next stage starts on its first frame instead of
        # after the whole list (``compiled._streams``). Used only where no durable write can
        # make the tick's messages wait (see ``streams_egress``); None: every output is
        # handed to ``egress`` once, whole.
        self.egress_stream = egress_stream
        self.ticks_run = 0
        self.compiled = COMPILE if compiled is None else compiled
        self._tick_ops: Callable[[], None] | None = None
        self._plain_end = False  # set after the first tick: the end of a tick has nothing to do
        ctx = RuntimeContext(member, cluster_sizes)
        fuse_on = FUSION if fuse is None else fuse
        layout = _cached_layout(graph, loc, fuse_on)
        nodes = graph.nodes_at(loc) if layout is None else layout.nodes
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
        if layout is None:
            layout = _Layout(graph, loc, nodes, self.ops, fuse_on)
            _store_layout(graph, loc, fuse_on, layout)
        ops = self.ops
        # Who consumes each producer's deltas: (consumer id, input index). Deferred edges too:
        # their inbox fills during the tick and is captured at its end. Like the rest of the
        # layout, shared by every runtime of this location and never changed after it is made.
        self.consumers: dict[int, list[tuple[int, int]]] = layout.consumers
        self.inbox: dict[tuple[int, int], list[list[Any]]] = {k: [] for k in layout.inbox_keys}
        self.egress_of: dict[int, list[Node]] = layout.egress_of
        # Nodes that run inside their consumer, as a lazy pipeline, instead of on their own.
        self.fused: set[int] = layout.fused
        self.pipelines: dict[tuple[int, int], tuple[tuple[int, int], list[Op]]] = {
            key: (head, [ops[i] for i in chain]) for key, (head, chain) in layout.pipelines.items()
        }
        # Plans that name no operator (only inbox keys and deferred inputs) are the layout's own.
        self.plans = dict(layout.plans)
        for nid in layout.resolve:
            self.plans[nid] = self._resolve_plan(layout.plans[nid])
        self.plan: list[tuple[bool, list[Node]]] = layout.plan
        # For each same-tick cycle, the edges inside it whose inboxes must drain for a fixpoint.
        self.fixpoint_keys: dict[int, list[tuple[int, int]]] = layout.fixpoint_keys
        kinds = layout.kinds
        if kinds is None:  # the first runtime of the location: sort its operators by kind, once
            kinds = layout.kinds = _op_kinds(ops)
        inbox_ids, deferred_ids, batch_ids, sink_ids, durable_ids = kinds
        self.inboxes: list[Inbox] = [cast(Inbox, ops[i]) for i in inbox_ids]
        self.deferred: list[Deferred] = [cast(Deferred, ops[i]) for i in deferred_ids]
        self.batches: list[Batch] = [cast(Batch, ops[i]) for i in batch_ids]
        self.sinks: dict[int, OutputSink] = {i: cast(OutputSink, ops[i]) for i in sink_ids}
        # Operators whose end_tick does more than clear ``first``; filled after the first tick
        # (so operators a driver swapped in before running are the ones listed).
        self.resettable: list[Op] = []
        # Durable state: recovered from the store now, written at the end of each tick that
        # changed it. ``write_seq`` is the store's number for the last write: a driver holds
        # the messages of a tick until ``store.durable_seq`` reaches the ``write_seq`` after it.
        self.durable_ops = [ops[i] for i in durable_ids]
        self.store: Store = store if store is not None else MemoryStore(self.name)
        self.write_seq = self.store.durable_seq
        if self.durable_ops:
            recovered = self.store.recover()
            for op in self.durable_ops:
                assert op.durable is not None
                op.restore(recovered.get(op.durable, {}))

    # ---- scheduling -------------------------------------------------------------------------

    def has_work(self) -> bool:
        # Called twice per tick by a driver; plain loops are cheaper than any(<genexpr>) here.
        if self.ticks_run == 0:
            return True
        for op in self.inboxes:
            if op.pending:
                return True
        for b in self.batches:
            if b.release is not None and b.pending:
                return True
        for d in self.deferred:
            if d.has_work():
                return True
        return False

    def deliver(self, node_id: int, items: list[Any]) -> None:
        op = self.ops[node_id]
        assert isinstance(op, Inbox)
        op.pending.extend(items)

    def deliver_owned(self, node_id: int, items: list[Any]) -> None:
        """``deliver`` for a list that no one else holds or changes (a decoded frame's group):
        an empty inbox takes the list itself instead of copying it."""
        op = self.ops[node_id]
        assert isinstance(op, Inbox)
        if op.pending:
            op.pending.extend(items)
        else:
            op.pending = items

    def tick(self) -> None:
        tick_ops = self._tick_ops
        if tick_ops is None and self.compiled and self.ticks_run == 0:
            # Built when the first tick starts, not in ``__init__``: a driver may swap operators
            # in between. A program that runs one long tick gets the generated loops too.
            tick_ops = self._tick_ops = compile_tick(self)
        if tick_ops is not None:
            tick_ops()
            if self._plain_end:  # nothing to capture, persist or reset: the common small program
                self.ticks_run += 1
                return
        else:
            for cyclic, comp in self.plan:
                if cyclic:
                    self.run_cycle(comp)
                else:
                    for n in comp:
                        self.run_node(n)
        for dop in self.deferred:
            node = dop.node
            idx: int = node.params["deferred"][0]
            if idx >= len(node.inputs):  # pragma: no cover - build() rejects incomplete cycles
                continue
            src = self.ops[node.inputs[idx].id]
            dop.capture(src if (src.scalar or src.by_reference) else self._take((node.id, idx)))
        if self.durable_ops:
            self.persist()
        # After the first tick only operators with tick state need the call (the base
        # ``end_tick`` just clears ``first``, which stays cleared).
        for op in self.ops.values() if self.ticks_run == 0 else self.resettable:
            try:
                op.end_tick()
            except HydroRuntimeError:  # pragma: no cover
                raise
            except Exception as e:  # resetting tick state calls init() again
                if op.user_fn:
                    raise UserFunctionError(op.node.method, op.node.site, self.name, e) from e
                raise
        if self.ticks_run == 0:
            self.resettable = [op for op in self.ops.values() if resets_each_tick(op)]
            self._plain_end = not (self.deferred or self.durable_ops or self.resettable)
        self.ticks_run += 1

    def run_cycle(self, comp: list[Node]) -> None:
        """Run a same-tick cycle's operators pass after pass until no edge inside it has data."""
        internal = self.fixpoint_keys[comp[0].id]
        inbox = self.inbox
        for _ in range(MAX_FIXPOINT_PASSES):
            for n in comp:
                self.run_node(n)
            if not any(inbox[k] for k in internal):
                return
        raise HydroRuntimeError(  # pragma: no cover - a diverging user cycle
            f"{self.name}: same-tick cycle through {comp[0].describe()} did not reach a fixpoint "
            f"after {MAX_FIXPOINT_PASSES} passes (does it keep producing new elements?)"
        )

    def persist(self) -> None:
        """Hand this tick's durable changes to the store (one write per tick that changed any)."""
        records: list[tuple[str, Any, Any]] = []
        for op in self.durable_ops:
            records.extend(op.durable_changes())
        if records:
            self.write_seq = self.store.write(records)

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

    def _resolve_plan(self, plan: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
        """A layout's input plan with operator ids replaced by this runtime's operators."""
        ops = self.ops
        out: list[tuple[int, Any]] = []
        for how, what in plan:
            if how == 1:
                out.append((1, ops[what]))
            elif how >= 3:
                out.append((how, self.pipelines[what]))
            else:
                out.append((how, what))
        return out

    def run_node(self, n: Node) -> None:
        """Run one operator on what its inputs produced since its last run (drivers such as the
        simulator call this to step a location operator by operator)."""
        op = self.ops[n.id]
        ins: list[Any] = []
        pulled: list[tuple[list[Any], list[Op]]] | None = None
        try:
            for how, what in self.plans[n.id]:
                if how == 2:
                    ins.append(self._take(what))
                elif how == 1:
                    ins.append(what)
                elif how == 0:
                    ins.append(None)
                else:
                    key, stages = what
                    src = self._take(key)
                    it: Any = src
                    for st in stages:
                        it = st.pipe(it)
                    if pulled is None:
                        pulled = []
                    pulled.append((src, stages))
                    # Materialising runs the fused functions, so it is inside the try too;
                    # a chain of pass-throughs hands over the list itself.
                    ins.append(it if how == 3 or it.__class__ is list else list(it))
            out = op.run(ins)
        except HydroRuntimeError:
            raise
        except Exception as e:
            culprit = n if pulled is None else blame(e, n, pulled)
            if self.ops[culprit.id].user_fn:
                raise UserFunctionError(culprit.method, culprit.site, self.name, e) from e
            raise
        if out:
            for key in self.consumers[n.id]:
                self.inbox[key].append(out)
            for net in self.egress_of.get(n.id, ()):
                self.egress(net, self.member, out)


def blame(e: BaseException, consumer: Node, pulled: list[tuple[list[Any], list[Op]]]) -> Node:
    """Which node's function raised ``e`` while ``consumer`` pulled fused pipelines.

    First the traceback: the innermost frame running one of the candidates' functions. Failing
    that (a builtin such as ``int`` has no Python frame), replay each pipeline stage by stage on
    its saved input; the stage that raises is the culprit. Only the error path pays for this,
    and only pure element-wise functions are replayed.
    """
    codes: dict[Any, Node] = {}
    for _, stages in pulled:
        for st in stages:
            _add_codes(codes, st.node)
    _add_codes(codes, consumer)
    frames: list[Any] = []
    tb = e.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code)
        tb = tb.tb_next
    for code in reversed(frames):
        if code in codes:
            return codes[code]
    for src, stages in pulled:
        data: list[Any] = src
        for st in stages:
            try:
                data = list(st.pipe(data))
            except Exception:
                return st.node
    return consumer


def _add_codes(codes: dict[Any, Node], node: Node) -> None:
    for key in ("f", "init", "key"):
        code = getattr(node.params.get(key), "__code__", None)
        if code is not None:
            codes.setdefault(code, node)


def resets_each_tick(op: Op) -> bool:
    """Whether ``op.end_tick`` does anything after the first tick. The base one only clears
    ``first``; a ``Stateful`` one also resets state, but only inside a tick."""
    end_tick = type(op).end_tick
    if end_tick is Op.end_tick:
        return False
    return not (end_tick is Stateful.end_tick and not op.in_tick)


class _Layout:
    """What ``LocationRuntime`` derives from the graph alone for one location: its nodes, who
    consumes what, the inbox keys, the fused chains, each operator's input plan (operator ids,
    resolved to a runtime's own operators by ``_resolve_plan``), the strata and the fixpoint keys.

    A graph does not change after ``build()``, so this is computed once per location and shared
    by every runtime of it: the simulator makes a runtime per instance per execution, and
    deriving the layout again was about half of making one. It is computed from the first
    runtime's operators; what it reads of them (``scalar``, ``by_reference``, ``fusable``,
    ``lazy_inputs``) is fixed by the node, so every runtime of the location would compute the same."""

    __slots__ = (
        "n_graph_nodes", "nodes", "consumers", "inbox_keys", "egress_of", "fused", "pipelines", "plans", "resolve",
        "plan", "fixpoint_keys", "kinds",
    )

    def __init__(self, graph: Graph, loc: LocationInfo, nodes: list[Node], ops: dict[int, Op], fuse: bool) -> None:
        self.n_graph_nodes = len(graph.nodes)
        # the ids of the inboxes, deferred operators, batches, output sinks and durable operators
        # (``_op_kinds``; each is fixed by its node), set by the first runtime that needs them
        self.kinds: tuple[list[int], list[int], list[int], list[int], list[int]] | None = None
        self.nodes = nodes
        self.consumers: dict[int, list[tuple[int, int]]] = {n.id: [] for n in nodes}
        inbox: set[tuple[int, int]] = set()
        keys: list[tuple[int, int]] = []
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
                p = ops[d.id]
                if not (p.scalar or p.by_reference):
                    self.consumers[d.id].append((n.id, i))
                    inbox.add((n.id, i))
                    keys.append((n.id, i))
        self.inbox_keys = keys
        comps = _components(graph, loc, nodes)
        self.fused: set[int] = set()
        # (consumer id, input index) -> (the chain head's inbox key, the chain's node ids)
        self.pipelines: dict[tuple[int, int], tuple[tuple[int, int], list[int]]] = {}
        if fuse:
            self._plan_fusion(nodes, ops, inbox, {n.id for cyclic, c in comps if cyclic for n in c})
        self.plans = {n.id: self._input_plan(n, ops) for n in nodes}
        self.resolve = [nid for nid, plan in self.plans.items() if any(how == 1 or how >= 3 for how, _ in plan)]
        self.plan: list[tuple[bool, list[Node]]] = []
        for cyclic, c in comps:
            kept = [n for n in c if n.id not in self.fused]
            if kept:
                self.plan.append((cyclic, kept))
        self.fixpoint_keys: dict[int, list[tuple[int, int]]] = {}
        for cyclic, c in self.plan:
            if cyclic:
                ids = {n.id for n in c}
                self.fixpoint_keys[c[0].id] = [
                    k for k in keys if k[0] in ids and not _is_deferred(ops[k[0]].node, k[1])
                ]

    def _plan_fusion(self, nodes: list[Node], ops: dict[int, Op], inbox: set[tuple[int, int]], cyclic: set[int]) -> None:
        """Find chains of element-wise operators that can run inside their consumer.

        An operator is fused when it is ``fusable`` (stateless, one element in, any number
        out), has exactly one consumer and no other reader (no network egress, not a deferred
        edge, no nondet site for the simulator to act on), and neither it nor its consumer is
        in a same-tick cycle. Its consumer then pulls the chain's input through the chain's
        ``pipe`` iterators: ``map -> filter -> fold`` becomes one ``functools.reduce`` over
        ``filter(map(...))`` with no intermediate lists, which is what keeps per-element cost
        at that of a hand-written loop. Semantics are unchanged: the same functions
        see the same elements in the same order; only the interleaving of calls to different
        pure functions differs.
        """
        by_id = {n.id: n for n in nodes}

        def fusable(n: Node) -> bool:
            op = ops[n.id]
            if not op.fusable or n.id in cyclic or n.nondet is not None:
                return False
            if n.kind not in ("stream", "keyed_stream") or len(n.inputs) != 1:
                return False
            if (n.id, 0) not in inbox or n.id in self.egress_of:
                return False
            outs = self.consumers[n.id]
            if len(outs) != 1:
                return False
            c_id, idx = outs[0]
            return c_id not in cyclic and not _is_deferred(by_id[c_id], idx)

        candidates = {n.id for n in nodes if fusable(n)}
        for n in nodes:
            if n.op == "network":
                continue
            for i, d in enumerate(n.inputs):
                if d.id not in candidates or self.consumers[d.id] != [(n.id, i)]:
                    continue
                chain = [d]
                while chain[0].inputs[0].id in candidates:
                    chain.insert(0, chain[0].inputs[0])
                self.pipelines[(n.id, i)] = ((chain[0].id, 0), [x.id for x in chain])
                self.fused.update(x.id for x in chain)

    def _input_plan(self, n: Node, ops: dict[int, Op]) -> list[tuple[int, Any]]:
        """How ``run_node`` gathers each input: 0 = deferred (skip), 1 = producer (its id here,
        its op once resolved), 2 = inbox key, 3 = fused pipeline passed lazily, 4 = fused
        pipeline materialised as a list (the pipeline's key here, the pipeline once resolved)."""
        if n.op == "network":
            return []
        op = ops[n.id]
        plan: list[tuple[int, Any]] = []
        deferred: tuple[int, ...] = n.params.get("deferred", ())
        for i, d in enumerate(n.inputs):
            if i in deferred:
                plan.append((0, None))
                continue
            if (n.id, i) in self.pipelines:
                plan.append((3 if i in op.lazy_inputs else 4, (n.id, i)))
                continue
            p = ops[d.id]
            plan.append((1, d.id) if (p.scalar or p.by_reference) else (2, (n.id, i)))
        return plan


def _op_kinds(ops: dict[int, Op]) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """The operators a runtime keeps lists of, by id: inboxes, deferred operators, batches,
    output sinks, durable operators (in ``ops``'s order)."""
    return (
        [i for i, op in ops.items() if isinstance(op, Inbox)],
        [i for i, op in ops.items() if isinstance(op, Deferred)],
        [i for i, op in ops.items() if isinstance(op, Batch)],
        [i for i, op in ops.items() if isinstance(op, OutputSink)],
        [i for i, op in ops.items() if op.durable is not None],
    )


_LAYOUTS: weakref.WeakKeyDictionary[Graph, dict[tuple[int, bool], _Layout]] = weakref.WeakKeyDictionary()


# The last graph looked up and its layouts: a driver makes its runtimes from one graph, and a
# ``WeakKeyDictionary`` lookup (Python code making a weak reference) was a tenth of making one.
_last: tuple[weakref.ReferenceType[Graph], dict[tuple[int, bool], _Layout]] | None = None


def _cached_layout(graph: Graph, loc: LocationInfo, fuse: bool) -> _Layout | None:
    global _last
    last = _last
    if last is not None and last[0]() is graph:
        per: dict[tuple[int, bool], _Layout] | None = last[1]
    else:
        per = _LAYOUTS.get(graph)
        if per is not None:
            _last = (weakref.ref(graph), per)
    hit = None if per is None else per.get((loc.id, fuse))
    if hit is None or hit.n_graph_nodes != len(graph.nodes):  # a graph grown since: derive again
        return None
    return hit


def layouts_of(graph: Graph) -> list[object]:
    """The layouts made for ``graph`` so far: part of the program, shared by its runtimes
    (a driver that reuses runtimes must not count them as any one runtime's state)."""
    per = _LAYOUTS.get(graph)
    return [] if per is None else list(per.values())


def _store_layout(graph: Graph, loc: LocationInfo, fuse: bool, layout: _Layout) -> None:
    per = _LAYOUTS.get(graph)
    if per is None:
        per = _LAYOUTS[graph] = {}
    per[(loc.id, fuse)] = layout


# The strata of each location of a graph, computed once: a graph does not change after build(),
# and a driver that makes many runtimes of one program (the simulator makes one per instance per
# execution) would otherwise spend a third of each execution recomputing them.
_COMPONENTS: weakref.WeakKeyDictionary[Graph, dict[int, tuple[int, list[tuple[bool, list[Node]]]]]] = (
    weakref.WeakKeyDictionary()
)


def _components(graph: Graph, loc: LocationInfo, nodes: list[Node]) -> list[tuple[bool, list[Node]]]:
    per = _COMPONENTS.get(graph)
    if per is None:
        per = _COMPONENTS[graph] = {}
    hit = per.get(loc.id)
    if hit is not None and hit[0] == len(graph.nodes):
        return hit[1]
    comps = [(is_cyclic(c), c) for c in strata(nodes)]
    per[loc.id] = (len(graph.nodes), comps)
    return comps


def _is_deferred(node: Node, idx: int) -> bool:
    return idx in node.params.get("deferred", ())
