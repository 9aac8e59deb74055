"""What every live collection shares: its graph node, and the build-time rule checks.

Each public operator does three things, in order: validate its arguments (so a mistake surfaces
at the user's line as a ``BuildError``, never as an ``AttributeError`` from inside us), check the
guarantee rules (docs/reference.md) against the markers stored on the input nodes (the run-time twin of
the static check), and append one node to the graph.

The operators several collection classes have in common (entering and leaving ticks, fold and
reduce, network edges) are written once here, as protected methods of ``Live``; so are the
guarantee errors (HL101/HL102/HL105), which cycle completion (cycles.py) raises too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol, cast

from ..ir.node import AtomicInfo, LocationInfo, Node, Scope, TickInfo
from ..types.errors import GuaranteeError, LocationError, NonDetError, UsageError
from ..types.markers import AtLeastOnce, Bounded, ExactlyOnce, Monotonic, NoOrder, TotalOrder, Unbounded, marker_name, min_order
from ..types.nondet import NonDet, Proof
from ..types.site import Site, caller_site
from ._access import add_node, flow_of, info_of, node_of

if TYPE_CHECKING:
    from .builder import GraphBuilder
    from .location import TopLevel

__all__ = ["Live", "make_collection"]

# node kind -> the wrapper of its live-collection class (filled by ``Live.__init_subclass__``)
_FACTORIES: dict[str, Callable[[GraphBuilder, Node], Any]] = {}


def make_collection(flow: GraphBuilder, node: Node) -> Any:
    """Wrap a node in the live-collection class of its kind (typed by the caller's annotation)."""
    return _FACTORIES[node.kind](flow, node)


def derive(
    coll: Live,
    op: str,
    *,
    kind: str | None = None,
    inputs: list[Live] | None = None,
    scope: Scope | None = None,
    bound: type[Unbounded] | None = None,
    order: type[NoOrder] | None = None,
    retries: type[AtLeastOnce] | None = None,
    params: dict[str, Any] | None = None,
    nondet: NonDet | None = None,
    proofs: dict[str, Proof] | None = None,
    site: Site | None = None,
    keep_guarantees: bool = True,
) -> Any:
    """Append one node whose unspecified properties are inherited from ``coll``, and wrap it.

    Collection classes call it as the method ``self._derive(...)``; lang modules outside them
    (bidi ports, ``cycle_with_initial``) call ``derive(coll, ...)``.
    """
    me = node_of(coll)
    flow = flow_of(coll)
    kind = kind or me.kind
    ins = [node_of(x) for x in (inputs if inputs is not None else [coll])]
    is_collection_of_elems = kind in ("stream", "keyed_stream")
    if bound is None:
        bound = me.bound
    if is_collection_of_elems:
        if order is None:
            order = me.order if keep_guarantees and me.order is not None else TotalOrder
        if retries is None:
            retries = me.retries if keep_guarantees and me.retries is not None else ExactlyOnce
    else:
        order = None
        retries = None
    node = Node(
        id=flow.graph.next_id(),
        op=op,
        inputs=ins,
        scope=scope or me.scope,
        kind=kind,
        bound=bound,
        order=order,
        retries=retries,
        site=site or caller_site(),
        params=params or {},
        nondet=nondet,
        proofs=proofs or {},
    )
    node.order_origin = _find_origin(node, ins, "order", NoOrder, TotalOrder)
    node.retries_origin = _find_origin(node, ins, "retries", AtLeastOnce, ExactlyOnce)
    node.bound_origin = _find_origin(node, ins, "bound", Unbounded, Bounded)
    add_node(flow, node)
    return make_collection(flow, node)


# ---- guarantee errors (operators here, cycle completion in cycles.py) ------------------------


def check_consistency(nodes: list[Node], src: Node, site: Site, origins: dict[int, Node] | None = None) -> None:
    """HL112: ``src``, required at ``site`` by ``make_eventually_consistent``, must be eventually
    consistent across its cluster (``ir/consistency.py`` says which collections are; ``origins``
    is its answer for the whole graph, when the caller checks several requirements)."""
    from ..ir.consistency import inconsistency_origins

    origin = (inconsistency_origins(nodes) if origins is None else origins).get(src.id)
    if origin is None:
        return
    raise GuaranteeError(
        "HL112",
        f"`make_eventually_consistent` needs a {src.kind.replace('_', ' ')} every member of {src.root} "
        "converges on, but the members may hold different values of this one",
        site=site,
        needed="EventualConsistency (every member ends up with the same value)",
        present=f"NoConsistency ({src.type_str()})",
        origin=f"NoConsistency was introduced by {origin.describe()}",
        fix="Deliver the data to every member with broadcast_closed (a cluster whose membership does not "
        "change, over a fail-stop channel; broadcast reaches only the members of the moment), keep "
        "per-member inputs and nondet sites (batch, snapshot, ...) out of it, or claim it with "
        ".assert_has_consistency_of(hl.EventualConsistency, nondet(\"why every member converges\")).",
    )


# The guarantees an operator can need, by the Node attribute that holds them:
# the error code when missing, the guarantee, and its absence.
_GUARANTEES: dict[str, tuple[str, type[Any], type[Any]]] = {
    "order": ("HL101", TotalOrder, NoOrder),
    "retries": ("HL102", ExactlyOnce, AtLeastOnce),
    "bound": ("HL105", Bounded, Unbounded),
}

_DECLARED = "is the declared guarantee of this collection's source"


def weakness_of(axis: str) -> str:
    """The missing guarantee of ``axis`` with its article, for messages: "a NoOrder", "an AtLeastOnce"."""
    weak = _GUARANTEES[axis][2].__name__
    return f"{'an' if weak[0] in 'AEIOU' else 'a'} {weak}"


def origin_text(origin: Node | None, weak: str, declared: str = _DECLARED) -> str:
    """An error's origin line: the operator that introduced ``weak``, or that a source declared it."""
    if origin is None:
        return f"{weak} {declared}"
    return f"{weak} was introduced by {origin.describe()}"


def missing_guarantee(
    axis: str,
    node: Node,
    message: str,
    *,
    present: str | None = None,
    fix: str | None = None,
    site: Site | None = None,
    declared: str = _DECLARED,
) -> GuaranteeError:
    """HL101/HL102/HL105: ``node`` lacks the guarantee of ``axis`` ("order", "retries", "bound").

    ``present`` defaults to the absent guarantee and the node's type; the origin line names the
    operator that weakened it (``declared`` is the wording for a source that declared it weak).
    """
    code, strong, weak = _GUARANTEES[axis]
    origin: Node | None = getattr(node, axis + "_origin")
    return GuaranteeError(
        code,
        message,
        site=site,
        needed=strong.__name__,
        present=f"{weak.__name__} ({node.type_str()})" if present is None else present,
        origin=origin_text(origin, weak.__name__, declared),
        fix=fix,
    )


# fold/reduce: the proof that stands in for each guarantee the input may lack (HL103/HL104).
_PROOF_RULES = (
    ("commutative", "order", "HL103", "the result would otherwise depend on arrival order"),
    ("idempotent", "retries", "HL104", "duplicates would otherwise change the result"),
)


class Live:
    """Base of the five live collections. Holds the flow and the graph node; no user state."""

    __slots__ = ("_flow", "_node")
    _flow: GraphBuilder
    _node: Node

    def __init_subclass__(cls, kind: str | None = None, **kwargs: Any) -> None:
        """``class Stream(Live, ..., kind="stream")``: nodes of that kind are wrapped as ``cls``."""
        super().__init_subclass__(**kwargs)
        if kind is not None:
            _FACTORIES[kind] = cls._wrap

    @classmethod
    def _wrap(cls, flow: GraphBuilder, node: Node) -> Any:
        obj = object.__new__(cls)
        obj._flow = flow
        obj._node = node
        return obj

    def __init__(self) -> None:  # pragma: no cover - defensive
        raise TypeError(
            f"{type(self).__name__} has no public constructor; live collections come from "
            "location sources (source_iter, source_external, ...) and operators"
        )

    def __repr__(self) -> str:
        return f"<{self._node.type_str()} from {self._node.describe()}>"

    # ---- node construction -------------------------------------------------------------

    _derive = derive

    def _durable(self, durable: object, method: str) -> dict[str, Any]:
        """The ``durable=`` parameter of ``scan``/``fold``: ``{}`` or ``{"durable": name}``.

        Durable state lives at the top level of a process or cluster (a tick's state restarts
        every tick, so there is nothing to keep), under a name unique at its location (HL503).
        """
        if durable is None:
            return {}
        if not isinstance(durable, str) or not durable.strip():
            raise UsageError(
                "HL503",
                f"`{method}(durable=...)` takes a non-empty name (a str), got {durable!r}",
                needed="durable=\"name\" (unique at its location) or durable=None",
                present=repr(durable),
            )
        n = self._node
        if isinstance(n.scope, TickInfo) or n.root.kind == "external":
            where = "inside a tick" if isinstance(n.scope, TickInfo) else "at an External"
            raise UsageError(
                "HL503",
                f"`{method}(durable={durable!r})` {where}: durable state lives at the top level of a process or cluster",
                needed="a top-level collection of a process or cluster",
                present=n.type_str(),
                fix="Keep the durable accumulator at the top level (scan/fold before .batch(tick, ...)), "
                "and read it in the tick with .snapshot(tick, nondet(...)) or .batch(...).",
            )
        for other in self._flow.graph.nodes:
            if other.root is n.root and other.params.get("durable") == durable:
                raise UsageError(
                    "HL503",
                    f"durable state {durable!r} is declared twice at {n.root}",
                    needed="one durable name per location",
                    present=f"{durable!r} already used by {other.describe()}",
                    fix="Give each durable accumulator of a location its own name.",
                )
        return {"durable": durable}

    def _aggregate(
        self,
        method: str,
        op: str,
        kind: str,
        fns: dict[str, object],
        commutative: object,
        idempotent: object,
        durable: object = None,
        inputs: list[Live] | None = None,
        monotone: object = None,
    ) -> Any:
        """``fold``/``reduce`` of a Stream or KeyedStream: check the functions and the proofs.

        A proof is *required* exactly when the input lacks the guarantee it stands in for
        (HL103/HL104), and allowed (recorded, harmless) otherwise, mirroring the static overloads.
        """
        for arg, fn in fns.items():
            check_callable(fn, method, arg)
        n = self._node
        proofs: dict[str, Proof] = {}
        for prop, token in (("commutative", commutative), ("idempotent", idempotent)):
            if token is not None:
                proofs[prop] = check_proof(token, method, prop)
        for prop, axis, code, why in _PROOF_RULES:
            _, strong, weak = _GUARANTEES[axis]
            if getattr(n, axis) is weak and prop not in proofs:
                raise GuaranteeError(
                    code,
                    f"`{method}` over {weakness_of(axis)} input needs {prop}=proof(\"...\"): {why}",
                    site=caller_site(),
                    needed=f"{strong.__name__} input, or {prop}=proof(...)",
                    present=f"{weak.__name__} ({n.type_str()}) and no {prop} proof",
                    origin=origin_text(getattr(n, axis + "_origin"), weak.__name__),
                )
        bound = None
        if monotone is not None:
            proofs["monotone"] = check_proof(monotone, method, "monotone")
            bound = Bounded if n.bound is Bounded else Monotonic
        params = {**fns, **self._durable(durable, method)}
        return self._derive(op, kind=kind, inputs=inputs, bound=bound, params=params, proofs=proofs)

    def _location(self) -> Any:
        """The location object this collection lives at: a Process, Cluster, Tick or Atomic."""
        from .location import Atomic, Cluster, Process, Tick

        scope = self._node.scope
        if isinstance(scope, TickInfo):
            tick: Tick[Any] = Tick(self._flow, scope)
            return tick
        if isinstance(scope, AtomicInfo):
            atomic: Atomic[Any] = Atomic(self._flow, scope)
            return atomic
        top: Process[Any] | Cluster[Any] = Cluster(self._flow, scope) if scope.is_cluster else Process(self._flow, scope)
        return top

    # --- monotonicity and thresholds
    def _threshold(self, threshold: object, method: str, expected: type[Live], kind: str, params: dict[str, Any]) -> Any:
        """The build-time twin of the threshold signatures: same location, a bounded threshold
        (HL105) and a monotone input (HL111)."""
        self._same_location(threshold, method, expected)
        th: Live = threshold  # type: ignore[assignment]
        th._need_bounded(method, "the threshold")
        self._need_monotonic(method)
        return self._derive(
            "threshold",
            inputs=[self, th],
            kind=kind,
            bound=Bounded if self._node.bound is Bounded else Unbounded,
            order=TotalOrder,
            retries=ExactlyOnce,
            params={**params, "method": method, "keyed": kind == "keyed_stream"},
        )

    # ---- ticks, shared by the collections that enter and leave them ---------------------

    def _tick_of(self, tick: object, op: str) -> TickInfo:
        """The TickInfo of ``tick``, which must be a Tick of this collection's location (HL202)."""
        from .location import Tick

        if not isinstance(tick, Tick):
            raise LocationError("HL202", f"`{op}` needs a Tick (made by loc.tick()), got {type(tick).__name__}", site=caller_site())
        t: Tick[Any] = tick  # pyright: ignore[reportUnknownVariableType]
        info = info_of(t)
        mine = self._node.scope
        if info.outer is not mine:
            raise LocationError(
                "HL202",
                f"`{op}` into {info}, which belongs to {info.outer}, but this collection is at {mine}",
                site=caller_site(),
                needed=f"a tick of {mine}",
                present=f"a tick of {info.outer} (made at {info.site})",
                fix=f"Use a tick created by the same location ({mine}.tick()), or send the data there first.",
            )
        return info

    def _into_tick(self, op: str, tick: object, nondet: object) -> Any:
        """``batch``/``snapshot``: this top-level collection as each tick of ``tick`` sees it
        (which elements or which version is a nondet site)."""
        token = check_nondet(nondet, op)
        self._need_top_level(op)
        return self._derive(op, scope=self._tick_of(tick, op), bound=Bounded, nondet=token)

    def _snapshot_atomic(self, nondet: object) -> Any:
        token = check_nondet(nondet, "snapshot_atomic")
        scope = self._need_atomic("snapshot_atomic")
        return self._derive("snapshot_atomic", scope=scope.tick, bound=Bounded, nondet=token)

    def _leave_tick(self, op: str) -> Any:
        """``all_ticks``/``latest``: back to the top level of the tick's location (Unbounded)."""
        tick = self._need_in_tick(op)
        return self._derive(op, scope=tick.outer, bound=Unbounded)

    def _atomic(self, tick: object, op: str) -> AtomicInfo:
        """Enter the atomic section of ``tick`` (which must belong to this top-level location);
        without a tick, of a new tick of this location that the first sliced region reading the
        section adopts (``lang/sliced.py``)."""
        self._need_top_level(op)
        if tick is None:
            graph = self._flow.graph
            info = TickInfo(len(graph.ticks), root_loc(self._node.scope), caller_site(), implicit=True)
            graph.ticks.append(info)
            return info.atomic_scope()
        return self._tick_of(tick, op).atomic_scope()

    # --- sliced regions, stateful ticks and atomic reads
    def _batch_atomic(self, op: str, nondet: object) -> Any:
        """``batch_atomic``/``snapshot_atomic``: the atomic section's contents in its own tick.
        ``nondet`` is ``None`` only for the internal reads of ``across_ticks`` (deterministic: the
        section is fed by that same tick)."""
        token = None if nondet is None else check_nondet(nondet, op)
        scope = self._need_atomic(op)
        return self._derive(op, scope=scope.tick, bound=Bounded, nondet=token)

    def _leave_tick_atomic(self, op: str) -> Any:
        """``all_ticks_atomic``/``latest_atomic``: into the atomic section of the tick this
        collection is in (top-level semantics, synchronous with the tick)."""
        tick = self._need_in_tick(op)
        return self._derive(op, scope=tick.atomic_scope(), bound=Unbounded)

    def _across_ticks(self, f: object) -> Any:
        """``across_ticks`` of a Stream or KeyedStream: into the tick's atomic section, ``f``, and
        back into the tick (no nondet: the section is fed by that same tick)."""
        fn = check_callable(f, "across_ticks")
        tick = self._need_in_tick("across_ticks")
        inner = self._leave_tick_atomic("all_ticks_atomic")
        out: object = fn(inner)
        if not isinstance(out, Live) or out._node.scope is not tick.atomic:
            raise UsageError(
                "HL501",
                f"`across_ticks` needs f to return a collection derived from its argument (in {tick.atomic}), got {out!r}",
                site=caller_site(),
                fix="Return what f computed from the stream it was given, e.g. lambda s: s.count().",
            )
        scalar = out._node.kind in ("singleton", "optional", "keyed_singleton")
        return out._batch_atomic("snapshot_atomic" if scalar else "batch_atomic", None)

    def _clone_into_tick(self, tick: object) -> Any:
        """A Bounded top-level value into every tick of ``tick``: one version exists, so no nondet."""
        self._need_top_level("clone_into_tick")
        n = self._node
        if n.bound is not Bounded:
            have = marker_name(n.bound)
            raise missing_guarantee(
                "bound",
                n,
                f"`clone_into_tick` needs a Bounded value (one version), but this {n.kind} is {have}",
                present=f"{have} ({n.type_str()})",
                fix="Read a changing value with .snapshot(tick, nondet(\"why any recent version will do\")), "
                "which is a nondet site; clone_into_tick is for values that never change.",
            )
        return self._derive("clone_into_tick", scope=self._tick_of(tick, "clone_into_tick"), bound=Bounded)

    def _scalar_atomic(self, tick: object) -> Any:
        return self._derive("scalar_atomic", scope=self._atomic(tick, "atomic"), params={"method": "atomic"})

    def _scalar_end_atomic(self) -> Any:
        scope = self._need_atomic("end_atomic")
        return self._derive("scalar_atomic", scope=scope.outer, params={"method": "end_atomic"})

    # ---- network ------------------------------------------------------------------------

    def _network(self, op: str, to: object, token: NonDet | None, channel: object, *, closed: bool = False) -> Any:
        """Build a network edge (Stream and KeyedStream). Received collections are always Unbounded.
        ``closed``: a ``broadcast_closed``, to a cluster whose membership never changes."""
        from .channel import check_channel
        from .location import Cluster, Process

        ch = check_channel(channel, op)
        self._need_top_level(op)
        src = self._node
        if op == "send":
            if not isinstance(to, Process):
                raise LocationError(
                    "HL203" if isinstance(to, Cluster) else "HL204",
                    f"`send` targets a Process, got {to!r}; use demux/broadcast/round_robin for a Cluster",
                    site=caller_site(),
                )
        elif not isinstance(to, Cluster):
            raise LocationError("HL203", f"`{op}` targets a Cluster, got {to!r}", site=caller_site())
        target = cast("TopLevel", to)
        if flow_of(target) is not self._flow:
            raise LocationError("HL201", f"`{op}` targets a location of another FlowBuilder", site=caller_site())
        from_cluster = src.root.is_cluster
        kind = "keyed_stream" if from_cluster else "stream"
        return self._derive(
            "network",
            kind=kind,
            scope=info_of(target),
            bound=Unbounded,
            order=min_order(src.order, ch.order) if src.order is not None else None,
            nondet=token,
            params={
                "mode": op,
                "from": src.root,
                "to": info_of(target),
                "channel": ch.kind,
                "channel_nondet": ch.nondet,
                **({"closed": True, "method": "broadcast_closed"} if closed else {}),
            },
        )

    # ---- consistency across a cluster's members (ir/consistency.py; not a type parameter) -----

    def _weaken_consistency(self) -> Any:
        return self._derive("cast", params={"method": "weaken_consistency", "consistency": "none"})

    def _assert_consistency(self, consistency: object, nondet: object) -> Any:
        from ..types.markers import EventualConsistency

        if consistency is not EventualConsistency:
            raise UsageError(
                "HL501",
                f"`assert_has_consistency_of` claims EventualConsistency (the one consistency stronger than "
                f"none), got {consistency!r}",
                site=caller_site(),
                fix="Write .assert_has_consistency_of(hl.EventualConsistency, nondet(\"why every member converges\")).",
            )
        token = check_nondet(nondet, "assert_has_consistency_of")
        self._need_top_level("assert_has_consistency_of")
        return self._derive("assert_consistency", nondet=token, params={"method": "assert_has_consistency_of"})

    def _require_consistency(self) -> Any:
        """HL112 now, and again in ``build()`` (a cycle completed later may still feed it)."""
        check_consistency(self._flow.graph.nodes, self._node, caller_site())
        return self._derive("cast", params={"method": "make_eventually_consistent", "requires": "eventual"})

    # ---- rule checks (the build-time twin of the static types) --------------------------

    def _need_total_order(self, op: str) -> None:
        n = self._node
        if n.order is not TotalOrder:
            raise missing_guarantee(
                "order", n, f"`{op}` needs a totally ordered input, but this {n.kind.replace('_', ' ')} is NoOrder"
            )

    def _need_exactly_once(self, op: str) -> None:
        n = self._node
        if n.retries is not ExactlyOnce:
            raise missing_guarantee(
                "retries", n, f"`{op}` needs an exactly-once input, but this {n.kind.replace('_', ' ')} is AtLeastOnce"
            )

    def _need_bounded(self, op: str, what: str = "this input") -> None:
        n = self._node
        if n.bound is not Bounded:
            have = marker_name(n.bound)
            raise missing_guarantee(
                "bound", n, f"`{op}` needs {what} to be Bounded, but it is {have}", present=f"{have} ({n.type_str()})"
            )

    def _need_monotonic(self, op: str) -> None:
        """HL111: a threshold read needs a value that only grows (``Monotonic`` or ``Bounded``)."""
        n = self._node
        if n.bound is None or not issubclass(n.bound, Monotonic):
            raise GuaranteeError(
                "HL111",
                f"`{op}` needs a monotone value (one that only grows), but this {n.kind.replace('_', ' ')} is Unbounded",
                site=caller_site(),
                needed="Monotonic (or Bounded)",
                present=f"Unbounded ({n.type_str()})",
                origin=_monotonic_origin(n),
                fix="Derive the value with count()/value_counts() at the top level or "
                "fold(..., monotone=proof(\"why it only grows\")), and keep it monotone through map with "
                "order_preserving=proof(...); or compare a snapshot inside a tick "
                "(.snapshot(tick, nondet(\"why\"))), which is a nondet site.",
            )

    def _need_top_level(self, op: str) -> None:
        n = self._node
        if not isinstance(n.scope, LocationInfo):
            atomic = isinstance(n.scope, AtomicInfo)
            raise LocationError(
                "HL107",
                f"`{op}` is only valid at the top level of a location, but this collection is inside {n.scope}",
                site=caller_site(),
                needed=f"a collection at {n.scope.outer}",
                present=n.type_str(),
                fix="Leave the atomic section with .end_atomic() first." if atomic else None,
            )

    def _need_atomic(self, op: str) -> AtomicInfo:
        n = self._node
        if not isinstance(n.scope, AtomicInfo):
            raise LocationError(
                "HL109",
                f"`{op}` needs a collection inside an atomic section, but this one is at {n.scope}",
                site=caller_site(),
                needed="a collection in Atomic[Tick[...]] (made with .atomic(tick))",
                present=n.type_str(),
            )
        return n.scope

    def _need_in_tick(self, op: str) -> TickInfo:
        n = self._node
        if not isinstance(n.scope, TickInfo):
            raise LocationError(
                "HL108",
                f"`{op}` needs a collection inside a tick, but this one is at the top level of {n.scope}",
                site=caller_site(),
                needed="a collection in Tick[...]",
                present=n.type_str(),
            )
        return n.scope

    def _same_location(self, other: object, op: str, expected: type[Live] | tuple[type[Live], ...] | None = None) -> Node:
        exp = expected or Live
        if not isinstance(other, exp):
            names = exp.__name__ if isinstance(exp, type) else " or ".join(c.__name__ for c in exp)
            raise UsageError(
                "HL501",
                f"`{op}` expects a {names}, got {type(other).__name__}",
                site=caller_site(),
            )
        on = other._node
        if other._flow is not self._flow:
            raise LocationError(
                "HL201", f"`{op}` combines collections from two different FlowBuilders", site=caller_site()
            )
        if on.scope is not self._node.scope:
            raise LocationError(
                "HL201",
                f"`{op}` combines collections at different locations: {self._node.scope} and {on.scope}",
                site=caller_site(),
                needed=f"both at {self._node.scope}",
                present=f"other is at {on.scope} (built by {on.describe()})",
                fix="Send one side to the other's location first (.send / .demux / .broadcast), "
                "or batch both into the same tick.",
            )
        return on

    def _same_bound(self, other: Live, op: str) -> None:
        a, b = self._node, other._node
        if a.bound is not b.bound:
            raise GuaranteeError(
                "HL106",
                f"`{op}` needs both inputs to have the same boundedness",
                site=caller_site(),
                needed=f"{a.bound.__name__ if a.bound else '?'} on both sides",
                present=f"left {a.type_str()}, right {b.type_str()}",
                origin=origin_text(b.bound_origin if b.bound is Unbounded else a.bound_origin, "Unbounded"),
            )


def _monotonic_origin(n: Node) -> str:
    """Where monotonicity was lost: the operator that turned a Monotonic input into Unbounded,
    or the aggregation that never promised it."""
    cur = n
    while cur.inputs and cur.op in ("singleton_map", "singleton_filter", "ks_map", "ks_filter", "cast", "zip", "unwrap_or"):
        if any(i.bound is Monotonic for i in cur.inputs):
            hint = " (give it order_preserving=proof(...) if it keeps the order)" if cur.op == "singleton_map" else ""
            return f"Monotonic was dropped by {cur.describe()}{hint}"
        cur = cur.inputs[0]
    return f"{cur.describe()} does not promise that its value only grows"


def _find_origin(node: Node, ins: list[Node], axis: str, weak: type[Any], strong: type[Any]) -> Node | None:
    value = getattr(node, axis)
    if value is None or value is strong:
        return None
    for i in ins:
        if getattr(i, axis) is weak:
            origin: Node | None = getattr(i, axis + "_origin")
            return origin or i
    return node


def check_callable(f: object, op: str, arg: str = "f") -> Callable[..., Any]:
    if not callable(f):
        raise UsageError(
            "HL501", f"`{op}` expects a function for `{arg}`, got {type(f).__name__}: {f!r}", site=caller_site()
        )
    return f  # pyright: ignore[reportUnknownVariableType]


def check_nondet(token: object, op: str) -> NonDet:
    if not isinstance(token, NonDet):
        raise NonDetError(
            "HL301",
            f"`{op}` may behave differently between runs and needs a nondet(\"why\") token, "
            f"got {type(token).__name__}",
            site=caller_site(),
            needed="a NonDet made by nondet(reason)",
            present=repr(token),
        )
    return token


def check_proof(token: object, op: str, prop: str) -> Proof:
    if not isinstance(token, Proof):
        raise NonDetError(
            "HL304",
            f"`{op}`: {prop}= must be a proof(\"why\") token, got {type(token).__name__}",
            site=caller_site(),
        )
    return token


def root_loc(scope: Scope) -> LocationInfo:
    return scope if isinstance(scope, LocationInfo) else scope.outer


class Sink(Live, kind="sink"):
    """The end of a path (for_each, outputs); holds the node so drivers can find it."""

    __slots__ = ()


def weakness_path(node: Node, origin: Node) -> list[Node]:
    """The chain of operators from ``origin`` down to ``node`` (inclusive), following inputs."""
    parent: dict[int, Node | None] = {node.id: None}
    frontier = [node]
    while frontier:
        nxt: list[Node] = []
        for n in frontier:
            if n is origin:
                path = [n]
                cur = parent[n.id]
                while cur is not None:
                    path.append(cur)
                    cur = parent[cur.id]
                return path
            for i in n.inputs:
                if i.id not in parent:
                    parent[i.id] = n
                    nxt.append(i)
        frontier = nxt
    return [origin, node]


def check_output_contract(coll: Live, op: str, port: str, ordered: bool, no_duplicates: bool) -> None:
    """HL110: an External output's declared contract must hold for the stream sent to it."""
    n = node_of(coll)
    for wanted, axis, strong, weak_name, label in (
        (ordered, "order", TotalOrder, "NoOrder", "ordered=True"),
        (no_duplicates, "retries", ExactlyOnce, "AtLeastOnce", "no duplicates (at-most-once / exactly-once)"),
    ):
        if not wanted or getattr(n, axis) is strong:
            continue
        origin: Node | None = getattr(n, axis + "_origin")
        path = weakness_path(n, origin) if origin is not None else [n]
        chain = " -> ".join(p.describe() for p in path) + f" -> `{op}` (port {port!r})"
        raise GuaranteeError(
            "HL110",
            f"the output port {port!r} promises {label}, but the stream sent to it is {weak_name}",
            site=caller_site(),
            needed=strong.__name__,
            present=f"{weak_name} ({n.type_str()})",
            origin=f"path that breaks the contract: {chain}",
        )


# The wire codecs External ports speak (net/external_codec.py implements them; a test keeps the
# two lists equal). Checked while building, so a typo fails at the user's line, not at deploy.
EXTERNAL_CODECS = ("bytes", "json", "msgpack", "resp", "lines")

# --- external port codecs chosen by the user
# A codec class (or instance) the program passes as ``codec=``, by its ``name``. The graph keeps
# only the name, so every process that builds the program registers the same codec here, and
# ``net.external_codec.get_codec`` finds it by name on both sides of a connection.
CUSTOM_CODECS: dict[str, Any] = {}


class ExternalCodecLike(Protocol):
    """What ``codec=`` accepts besides a name: a ``hydrologic.net.ExternalCodec`` subclass (or
    an instance of one) that frames (``parse``), decodes and encodes the values of a port."""

    name: str

    def encode(self, value: Any) -> bytes: ...
    def decode(self, raw: bytes) -> Any: ...
    def parse(self, buf: bytearray) -> bytes | None: ...


def custom_codec(name: str) -> Any:
    """The class or instance registered under ``name`` by a program's ``codec=``, or None."""
    return CUSTOM_CODECS.get(name)


def check_codec(codec: object, op: str) -> str:
    if isinstance(codec, str) and (codec in EXTERNAL_CODECS or codec in CUSTOM_CODECS):
        return codec
    name = getattr(codec, "name", None)
    if not isinstance(codec, str) and all(callable(getattr(codec, m, None)) for m in ("encode", "decode", "parse")):
        if not isinstance(name, str) or not name or name in EXTERNAL_CODECS:
            raise UsageError(
                "HL501",
                f"`{op}`: a codec class needs a `name` of its own (not one of {', '.join(EXTERNAL_CODECS)}), got {name!r}",
                site=caller_site(),
            )
        known = CUSTOM_CODECS.get(name)
        mine = codec if isinstance(codec, type) else type(codec)
        # by qualified name: a program file loaded twice (by path and as a module) defines its
        # codec class twice, and both are the same codec
        if known is not None and (known if isinstance(known, type) else type(known)).__qualname__ != mine.__qualname__:
            raise UsageError("HL501", f"`{op}`: two different codecs are named {name!r}", site=caller_site())
        CUSTOM_CODECS[name] = codec
        return name
    raise UsageError(
        "HL501",
        f"`{op}`: unknown codec {codec!r}; choose one of {', '.join(EXTERNAL_CODECS)}, or pass a "
        "hydrologic.net.ExternalCodec subclass with a name of its own",
        site=caller_site(),
    )
