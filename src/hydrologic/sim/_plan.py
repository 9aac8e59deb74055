"""Static analysis of a built graph, done once per ``Sim`` and shared by every execution.

The in-process runtime runs a location's whole graph in one tick. The simulator splits it the
way Hydro's simulator does: the *top level* (outside any tick) is eventually deterministic, so it
runs as deterministic passes to a fixpoint and never branches; each ``Tick`` is a separate unit of
work whose running is a scheduling decision and whose inputs (``batch``, ``snapshot``) are hooks
that decide what the tick sees. This module computes, per location, the top-level plan, one plan
per tick, which nodes are hooks, and which location instances can influence which (for the
partial-order reduction in ``_scheduler``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..ir.graph import Graph
from ..ir.node import AtomicInfo, LocationInfo, Node, TickInfo
from ..ir.ops import SimRole, ops_with
from ..ir.passes import intra_tick_inputs, is_cyclic, strata
from ..runtime.compiled import StepsTemplate
from ..runtime.ops import Op
from ..runtime.tick import LocationRuntime
from ._faults import FaultBudget

if TYPE_CHECKING:
    from ._location import HookedKinds
    from ._symmetry import Symmetry
    from ._invariants import Invariant
    from ._rules import SiteRule

__all__ = ["Plan", "LocPlan", "TickPlan", "InstanceInfo", "Step"]

Step = tuple[bool, list[Node], list[tuple[int, int]]]
"""One stratum: (cyclic, nodes in build order, the stratum's own non-deferred inbox keys)."""

# The simulator's view of each op, derived from the operator table (``ir/ops.py``).
ORDERINGS = ops_with(SimRole.ORDERING)  # with a nondet token: the release order is a decision
INBOX_OPS = ops_with(SimRole.INBOX)
CONST_TICK_SOURCES = ops_with(SimRole.CONST_SOURCE)
BATCHES = ops_with(SimRole.BATCH)
SNAPSHOTS = ops_with(SimRole.SNAPSHOT)
ATOMIC_ENTRIES = ops_with(SimRole.ATOMIC_ENTRY)
ATOMIC_SNAPSHOTS = ops_with(SimRole.ATOMIC_SNAPSHOT)
NEXT_TICK_OPS = ops_with(SimRole.NEXT_TICK)
CLAIMED_FOLDS = ops_with(SimRole.CLAIMED_FOLD)
RELEASED_LIKE_BATCHES = BATCHES | ATOMIC_ENTRIES  # hooks whose decision is which arrived elements enter


@dataclass(eq=False)
class TickPlan:
    info: TickInfo
    steps: list[Step]
    batches: list[Node]
    snapshots: list[Node]
    orderings: list[Node]  # in-tick assume_ordering: a permutation decided inside the tick
    deferred: list[Node]
    has_const_sources: bool
    node_ids: list[int]
    # the batches and snapshots in node order (the order they are decided in), each with whether
    # it is released like a batch (``Decider.decide_tick``)
    hooks: list[tuple[Node, bool]] = field(default_factory=lambda: [])

    def __post_init__(self) -> None:
        self.hooks = [(n, n.op in RELEASED_LIKE_BATCHES) for n in sorted(self.batches + self.snapshots, key=lambda n: n.id)]


@dataclass(eq=False)
class LocPlan:
    loc: LocationInfo
    top_steps: list[Step]
    top_ids: list[int]
    top_inbox_keys: list[tuple[int, int]]  # inboxes the top level drains (async work is pending)
    ticks: list[TickPlan]
    observations: list[Node]  # top-level assume_ordering / merge_ordered
    trickle: bool  # deliver one input element per pass, so snapshots can see every version
    inbox_ids: list[int]
    # The generated function of each step list (``top_steps``, each tick's ``steps``; keyed by the
    # list's id), per tuple of operator classes, made once and bound to every instance
    # (``SimLocation.run_steps``). None: that step list runs operator by operator.
    templates: dict[int, dict[tuple[type, ...], StepsTemplate | None]] = field(default_factory=lambda: {})
    # In-tick operators whose ``recomputed`` attributes carry nothing from one tick to the next
    # (``_transient``): the state key leaves those attributes out
    transient: frozenset[int] = frozenset()
    # The operators ``SimLocation.build`` hooks or lists (``_location.HookedKinds``), found by the
    # location's first instance
    kinds: HookedKinds | None = None


@dataclass(frozen=True)
class InstanceInfo:
    index: int
    loc: LocationInfo
    member: int | None

    @property
    def name(self) -> str:
        return str(self.loc) if self.member is None else f"{self.loc}/{self.member}"


@dataclass(eq=False)
class Plan:
    graph: Graph
    sizes: dict[int, int]
    locs: dict[int, LocPlan] = field(default_factory=lambda: {})
    instances: list[InstanceInfo] = field(default_factory=lambda: [])
    by_loc: dict[int, list[int]] = field(default_factory=lambda: {})
    reach: list[frozenset[int]] = field(default_factory=lambda: [])  # instances each one can affect
    # instances one unit of each can affect within that unit (its sends and what they pass through
    # synchronously at other locations' top levels); see ``_reachability``
    reach_now: list[frozenset[int]] = field(default_factory=lambda: [])
    # instances whose state beyond their hooks' buffers one unit of each can change within that
    # unit (it always includes the instance itself); see ``_reachability`` and ``Scheduler.pick``
    deep_now: list[frozenset[int]] = field(default_factory=lambda: [])
    component: list[int] = field(default_factory=lambda: [])  # connected component of "dependent"
    fingerprint: str = ""
    order_sensitive: dict[int, bool] = field(default_factory=lambda: {})
    # the claims of eventual consistency checked at the end of every execution (``_consistency``),
    # found by the first execution
    claims: list[Node] | None = None
    faults: FaultBudget = field(default_factory=lambda: FaultBudget())
    # scripted scenarios (``_rules``, ``_invariants``): rules by decision node id, and the
    # invariants checked after every step
    rules: dict[int, SiteRule] = field(default_factory=lambda: {})
    invariants: list[Invariant] = field(default_factory=lambda: [])
    # --- cluster membership: instances of spare members, absent until they join
    spares: frozenset[int] = frozenset()
    # the clusters whose members the state cache treats as interchangeable (``_symmetry``)
    symmetric: Symmetry | None = None

    def dependent(self, a: int, b: int) -> bool:
        """Whether a unit at instance ``a`` and one at ``b`` may not commute (the sleep sets' test)."""
        return a == b or b in self.reach_now[a] or a in self.reach_now[b]


def _noop_egress(net: Node, member: int | None, items: list[Any]) -> None:  # pragma: no cover
    pass


def _steps(rt: LocationRuntime, nodes: list[Node]) -> list[Step]:
    out: list[Step] = []
    for comp in strata(nodes):
        cyclic = is_cyclic(comp)
        keys: list[tuple[int, int]] = []
        if cyclic:
            ids = {n.id for n in comp}
            for n in comp:
                deferred: tuple[int, ...] = n.params.get("deferred", ())
                for i, d in intra_tick_inputs(n):
                    if d.id in ids and i not in deferred and (n.id, i) in rt.inbox:
                        keys.append((n.id, i))
        out.append((cyclic, comp, keys))
    return out


def _is_ref(op: Op) -> bool:
    return op.scalar or op.by_reference


def build_plan(graph: Graph, sizes: dict[int, int], spare: dict[int, int] | None = None) -> Plan:
    """``spare``: per cluster id, how many member ids above its size may join later (their
    instances exist from the start, absent until a join; ``plan.sizes`` counts them)."""
    initial = dict(sizes)
    sizes = {k: n + (spare or {}).get(k, 0) for k, n in sizes.items()}
    plan = Plan(graph, dict(sizes))
    spares: set[int] = set()
    for loc in graph.locations:
        if loc.kind == "external":
            continue
        members: list[int | None] = list(range(sizes[loc.id])) if loc.is_cluster else [None]
        plan.by_loc[loc.id] = []
        for m in members:
            info = InstanceInfo(len(plan.instances), loc, m)
            plan.by_loc[loc.id].append(info.index)
            plan.instances.append(info)
            if m is not None and m >= initial[loc.id]:
                spares.add(info.index)
        proto = LocationRuntime(graph, loc, members[0], sizes, _noop_egress, fuse=False)
        plan.locs[loc.id] = _loc_plan(graph, loc, proto)
    plan.spares = frozenset(spares)
    _reachability(plan)
    h = hashlib.sha1()
    for loc in graph.locations:
        h.update(f"{loc.kind}:{loc.name}:{sizes.get(loc.id)};".encode())
    for n in graph.nodes:
        h.update(f"{n.id}:{n.op}:{n.scope}:{[i.id for i in n.inputs]};".encode())
    plan.fingerprint = h.hexdigest()[:8]
    return plan


def _loc_plan(graph: Graph, loc: LocationInfo, rt: LocationRuntime) -> LocPlan:
    nodes = graph.nodes_at(loc)
    # An atomic section whose tick takes a ``snapshot_atomic`` runs inside that tick: which
    # arrived inputs enter the section by each tick is then a batch-like decision, and the
    # snapshot reflects exactly the inputs released so far. Without such a snapshot the section
    # is unobservable as such and runs with the top level.
    snap_ticks = {n.scope.id for n in nodes if n.op in ATOMIC_SNAPSHOTS and isinstance(n.scope, TickInfo)}
    atomic_tick: dict[int, int] = {
        n.id: n.scope.tick.id for n in nodes if isinstance(n.scope, AtomicInfo) and n.scope.tick.id in snap_ticks
    }
    top = [n for n in nodes if not n.in_tick and n.id not in atomic_tick]
    # A top-level node that reads an in-tick scalar by reference (``latest``) must run while that
    # tick's values are still live, i.e. at the end of the tick, not in a later top-level pass.
    bound: dict[int, int] = {}
    for n in top:
        for _, d in intra_tick_inputs(n):
            tick_id = d.scope.id if isinstance(d.scope, TickInfo) else atomic_tick.get(d.id)
            if d.root is loc and tick_id is not None and _is_ref(rt.ops[d.id]):
                bound[n.id] = tick_id
    free_top = [n for n in top if n.id not in bound]
    top_ids = {n.id for n in free_top}
    top_keys = [k for k in rt.inbox if k[0] in top_ids and not _deferred_edge(graph.nodes[k[0]], k[1])]
    observations = [
        n
        for n in free_top
        if n.op in ORDERINGS and n.nondet is not None
    ]
    ticks: list[TickPlan] = []
    for t in graph.ticks:
        if t.outer is not loc:
            continue
        tnodes = [n for n in nodes if n.scope is t or atomic_tick.get(n.id) == t.id]
        extra = [n for n in top if bound.get(n.id) == t.id]
        if not tnodes:
            continue
        ticks.append(
            TickPlan(
                info=t,
                steps=_steps(rt, tnodes + extra),
                batches=[n for n in tnodes if n.op in BATCHES or (n.op in ATOMIC_ENTRIES and n.id in atomic_tick)],
                snapshots=[n for n in tnodes if n.op in SNAPSHOTS],
                orderings=[n for n in tnodes if n.op in ORDERINGS and n.nondet is not None],
                deferred=[n for n in tnodes if n.op in NEXT_TICK_OPS],
                has_const_sources=any(n.op in CONST_TICK_SOURCES for n in tnodes),
                node_ids=[n.id for n in tnodes + extra],
            )
        )
    trickle = any(t.snapshots for t in ticks)
    inbox_ids = [n.id for n in nodes if n.op in INBOX_OPS]
    lp = LocPlan(loc, _steps(rt, free_top), [n.id for n in free_top], top_keys, ticks, observations, trickle, inbox_ids)
    lp.transient = _transient(graph, rt, ticks)
    return lp


def _transient(graph: Graph, rt: LocationRuntime, ticks: list[TickPlan]) -> frozenset[int]:
    """The in-tick operators whose ``Op.recomputed`` attributes (a scalar's ``value``) are dead
    between ticks: every run sets them from the inputs, the operator runs in every run of its
    tick (it is not skipped when idle, nor inside a same-tick cycle whose passes could read the
    previous value first), and every reader runs later in the same run of the same tick (no
    top-level reader outside it, no ``defer_tick`` carrying it to the next tick). What they
    held after the last tick is then never read, so two states that differ only there behave
    alike; keeping them in the key made states that differ only in the last tick's
    intermediate values distinct (a Paxos proposer's zipped inbox of its last tick)."""
    consumers = graph.consumers()
    out: set[int] = set()
    for tp in ticks:
        in_tick = set(tp.node_ids)
        cyclic = {n.id for cyc, comp, _ in tp.steps if cyc for n in comp}
        for nid in tp.node_ids:
            op = rt.ops[nid]
            n = op.node
            if not op.recomputed or op.idle_noop or not n.in_tick or nid in cyclic:
                continue
            if all(c.id in in_tick and c.op not in NEXT_TICK_OPS for c in consumers[nid]):
                out.add(nid)
    return frozenset(out)


PASS_THROUGH = frozenset({
    "map", "filter", "filter_map", "flat_map", "inspect", "cast", "assume_retries", "values", "merge",
    "ks_entries", "ks_filter", "ks_keys", "ks_map", "ks_map_with_key", "ks_values",
})
"""Top-level operators that keep no state: data passes through them in the step that delivers it."""


def _deep_nets(graph: Graph, nets: list[Node]) -> set[int]:
    """The network edges whose deliveries can change their receiver's state *beyond its hooks'
    buffers* within the delivering step: at the receiver, the data reaches a top-level operator
    that keeps state or shows it (a fold, a sink...) through stateless ones, unless no unit of
    the receiver can ever change that operator (``_foreign_fed``). Data that only waits
    in a ``batch``'s, ``snapshot``'s or observation's buffer, or is passed on (its own edge), does
    not count: the receiver's next unit may always leave it there, which is what lets
    ``Scheduler.pick`` keep a sibling asleep after a unit that did not send to it
    (docs/simulator.md, "Asleep after a unit that sent it nothing")."""
    consumers = graph.consumers()
    foreign = _foreign_fed(graph, nets)

    def deep(n: Node) -> bool:
        seen = {n.id}
        work = [n]
        while work:
            x = work.pop()
            for c in consumers[x.id]:
                if c.id in seen:
                    continue
                seen.add(c.id)
                if c.in_tick or (c.op in ORDERINGS and c.nondet is not None) or c.op == "network":
                    continue  # a hook's buffer, an observation's buffer, or passed on (its own edge)
                if c.op not in PASS_THROUGH and c.id not in foreign:
                    return True
                work.append(c)
        return False

    return {n.id for n in nets if deep(n)}


CONSTANT_SOURCES = CONST_TICK_SOURCES | {"self_id"}
"""Sources whose value, at the top level, is fixed once the program has started."""


def _foreign_fed(graph: Graph, nets: list[Node]) -> set[int]:
    """Top-level operators that only other locations' units can change: every input is a
    constant, another such operator, or a network edge from another location whose sender puts
    data on it only in its own units (no top-level path at the sender leads a delivery on to it).

    A unit of the receiving location then never changes them, so it commutes with a delivery
    that only reaches them (and hook buffers): both orders feed them the same inputs in the
    same order. That is what lets a learner's tally, counted at the top level from the
    acceptors' votes, stay out of ``deep_now``."""
    forwarded: set[int] = set()
    consumers = graph.consumers()
    for n in nets:
        seen = {n.id}
        work = [n]
        while work:
            x = work.pop()
            for c in consumers[x.id]:
                if c.id in seen or c.in_tick or (c.op in ORDERINGS and c.nondet is not None):
                    continue
                seen.add(c.id)
                if c.op == "network":
                    forwarded.add(c.id)
                else:
                    work.append(c)
    out: set[int] = set()

    def ok(i: Node, at: Node) -> bool:
        if i.id in out:
            return True
        if i.op == "network":
            return i.id not in forwarded and i.params["from"] is not at.root
        return not i.inputs and i.op in CONSTANT_SOURCES and not i.in_tick

    changed = True
    while changed:
        changed = False
        for n in graph.nodes:
            if n.id in out or n.in_tick or n.op == "network" or not n.inputs:
                continue
            if n.op in ORDERINGS and n.nondet is not None:
                continue
            if all(ok(i, n) for i in n.inputs):
                out.add(n.id)
                changed = True
    return out


def _deferred_edge(node: Node, idx: int) -> bool:
    return idx in node.params.get("deferred", ())


def _reachability(plan: Plan) -> None:
    """Which instances' inputs each instance can change: transitive over network edges, following
    data through each location's graph (a message that arrives at B and leaves on another channel
    reaches that channel's target; one that only reaches B's outputs stops there).

    Conservative: a network edge into a cluster is taken to reach every member (demux and
    round_robin reach only some, but which ones depends on data).

    ``reach`` serves the persistent sets (components: what an instance may *ever* change);
    ``reach_now`` serves the sleep sets, which only ask whether two units commute. A unit (a
    tick or an observation) changes its own instance, the inboxes its sends arrive in, and what
    those arrivals pass through at once: the receivers' top-level operators run while the unit's
    effects settle, so a top-level path on to another channel is part of the same step. Data that
    enters a tick or a top-level observation at the receiver goes on only in that receiver's own
    later unit, so ``reach_now`` stops there. Two acceptors that both answer the proposers, but
    never each other, are then independent, while by ``reach`` (through the proposers) they are not.
    """
    graph = plan.graph
    consumers = graph.consumers()
    nets = [n for n in graph.nodes if n.op == "network"]

    def feeds_of(now: bool) -> dict[int, set[int]]:
        """net -> nets fed by what it delivers (within the receiving location; with ``now``,
        only through nodes that run while the delivering unit's effects settle)."""
        feeds: dict[int, set[int]] = {}
        for n in nets:
            out: set[int] = set()
            seen = {n.id}
            work = [n]
            while work:
                x = work.pop()
                for c in consumers[x.id]:
                    if c.id in seen:
                        continue
                    seen.add(c.id)
                    if now and (c.in_tick or (c.op in ORDERINGS and c.nondet is not None)):
                        continue  # runs in the receiver's own unit
                    if c.op == "network":
                        out.add(c.id)
                    else:
                        work.append(c)
            feeds[n.id] = out
        return feeds

    by_id = {n.id: n for n in nets}

    def reach_by(feeds: dict[int, set[int]], counts: Callable[[int], bool] = lambda nid: True) -> list[frozenset[int]]:
        """Per instance: itself and the receivers of every edge its sends lead to (by
        ``feeds``) that ``counts``."""
        reach: list[frozenset[int]] = []
        for i in plan.instances:
            start = [n.id for n in nets if n.params["from"] is i.loc]
            seen_nets = set(start)
            todo = list(start)
            while todo:
                nid = todo.pop()
                for y in feeds[nid]:
                    if y not in seen_nets:
                        seen_nets.add(y)
                        todo.append(y)
            targets = {i.index}
            for nid in seen_nets:
                if counts(nid):
                    targets.update(plan.by_loc.get(by_id[nid].params["to"].id, []))
            reach.append(frozenset(targets))
        return reach

    reach = plan.reach = reach_by(feeds_of(False))
    now = feeds_of(True)
    plan.reach_now = reach_by(now)
    plan.deep_now = reach_by(now, _deep_nets(graph, nets).__contains__)
    # Connected components of the (symmetric) dependence relation: work in different components
    # commutes forever, so one component's enabled work is a persistent set.
    comp = list(range(len(plan.instances)))

    def find(x: int) -> int:
        while comp[x] != x:
            comp[x] = comp[comp[x]]
            x = comp[x]
        return x

    active = [
        bool(plan.locs[i.loc.id].ticks or plan.locs[i.loc.id].observations) for i in plan.instances
    ]  # instances with no ticks or observations are never scheduled; data passes through them
    for a, r in enumerate(reach):
        for b in r:
            if not (active[a] and active[b]):
                continue
            ra, rb = find(a), find(b)
            if ra != rb:
                comp[max(ra, rb)] = min(ra, rb)
    plan.component = [find(x) for x in range(len(plan.instances))]

