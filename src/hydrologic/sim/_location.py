"""One simulated location instance, and the work it does that never branches.

A ``SimLocation`` is a process or one cluster member as the simulator runs it: a fresh
``LocationRuntime`` (unfused, so every operator runs as its own step) with the simulator's hooks
installed in place of its nondeterministic operators, plus the state the simulator keeps beside
the runtime: arrivals not yet fed to the top level, how often each tick ran, and the versions of
top-level state that each snapshot has not revealed yet.

Its methods are the deterministic mechanics: one top-level pass, the body of a tick once its
inputs are decided, and the questions the scheduler and the decider ask (can this tick run, can
this hook release anything). Deciding belongs to ``_decider``, choosing what runs to
``_scheduler``, moving data between instances to ``_network``.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, cast

from ..ir.node import Node
from ..runtime.ops import Batch, Deferred, Inbox, Op, RuntimeContext, Snapshot
from ..runtime.ops.asyncs import async_ops
from ..runtime import tick as tick_module
from ..runtime.compiled import compile_steps, step_classes
from ..runtime.tick import Egress, LocationRuntime, resets_each_tick
from ..storage import Store
from ..types.errors import HydroRuntimeError
from ..types.markers import AtLeastOnce, NoOrder
from ._hooks import (
    Choose,
    InlinePermute,
    MergeObservation,
    Note,
    OrderObservation,
    SiteChoose,
    check_commutative,
    check_idempotent,
    copy_value,
    keep_value,
    release_nothing,
)
from ._async import SimAsyncHost
from ..runtime.ops.timers import Spin, spin_ops
from ._plan import ATOMIC_ENTRIES, CLAIMED_FOLDS, RELEASED_LIKE_BATCHES, InstanceInfo, LocPlan, Plan, Step, TickPlan

__all__ = ["SimLocation", "Observer", "new_stamp"]

MAX_FIXPOINT = 100_000


Observer = OrderObservation | MergeObservation
"""A top-level ``assume_ordering`` / ``merge_ordered``: releases one element when scheduled."""


# per tick: its batches with their inbox keys, its snapshots' ids, its deferred operators, and
# its id if it has constant sources (it runs once without input)
_TickCheck = tuple[list[tuple[Batch, tuple[int, int]]], list[int], list[Deferred], "int | None"]


new_stamp: Callable[[], int] = itertools.count(1).__next__


@dataclass(eq=False)
class SimLocation:
    # Caches that stay valid when a search puts this object back into its start state
    # (``_reuse``): functions bound to this location's operators, and the lists of operators
    # read around every pass, which are the same objects after it (the operators a location runs
    # are replaced only when it is built). Not ``end_lists``: which operators' ``end_tick`` a
    # pass may skip depends on whether the pass ran before, and that is put back (operators
    # read ``first``).
    __sim_reuse_keep__: ClassVar[tuple[str, ...]] = ("step_fns", "inbox_ops", "tick_checks", "keyed_ops")

    info: InstanceInfo
    lp: LocPlan
    rt: LocationRuntime
    arrivals: list[tuple[int, Any]] = field(default_factory=lambda: [])
    arrivals_pos: int = 0
    started: bool = False
    ticks_run: dict[int, int] = field(default_factory=lambda: {})
    versions: dict[int, list[Any]] = field(default_factory=lambda: {})  # unrevealed, oldest first
    last_version: dict[int, Any] = field(default_factory=lambda: {})
    current: dict[int, Any] = field(default_factory=lambda: {})  # last revealed version
    observers: list[Observer] = field(default_factory=lambda: [])
    dead: bool = False  # crashed and not restarted (``_faults``): runs nothing, receives nothing
    spins: list[Spin] = field(default_factory=lambda: [])
    inboxes: list[Inbox] = field(default_factory=lambda: [])  # the other inboxes, when there are spins
    # every inbox operator (``has_async_work`` reads them around every pass), and per tick what
    # ``tick_runnable`` reads (the scheduler asks it of every tick before every pick)
    inbox_ops: list[Inbox] = field(default_factory=lambda: [])
    tick_checks: list[_TickCheck] = field(default_factory=lambda: [])
    # the operators a state key encodes (``_states``): all but the ``stateless`` and ``fusable``
    # ones, which hold nothing between runs; with their ids, in the runtime's order
    keyed_ops: list[tuple[int, Op]] = field(default_factory=lambda: [])
    # each step list's function, bound to this instance on first use (``run_steps``)
    step_fns: dict[int, Callable[[], None]] = field(default_factory=lambda: {})
    # After a step list's first pass, only the operators whose ``end_tick`` does more than clear
    # ``first`` need the call (``runtime.tick.resets_each_tick``): per step list, those operators.
    end_lists: dict[int, list[Op]] = field(default_factory=lambda: {})
    # Which state this location is in, for the state key's cache of encoded parts (``_states``):
    # a number never given twice (``new_stamp``), renewed by every step that may change the
    # location and by every loop of steps a driver call starts (``SimInstance``). Equal stamps
    # mean the same contents; a search that puts the location back puts its stamp back too.
    stamp: int = field(default_factory=lambda: new_stamp())

    @classmethod
    def build(
        cls,
        plan: Plan,
        info: InstanceInfo,
        egress: Egress,
        choose: Choose,
        note: Note,
        store: Store | None = None,
        site: SiteChoose | None = None,
    ) -> SimLocation:
        """A fresh instance of ``info``'s location whose nondet sites decide with ``choose``;
        its durable state is recovered from ``store``."""
        # fuse=False: the simulator runs top-level and tick nodes in separate passes and hooks
        # operator inputs, so every operator must run as its own step.
        rt = LocationRuntime(plan.graph, info.loc, info.member, plan.sizes, egress, fuse=False, store=store)
        lp = plan.locs[info.loc.id]
        st = cls(info, lp, rt)
        kinds = lp.kinds
        if kinds is None:  # the first instance of the location: find these operators once
            kinds = lp.kinds = _hooked_kinds(rt.ops)
        ops = rt.ops
        if kinds.spins:
            st.spins = [cast(Spin, ops[i]) for i in kinds.spins]
            st.inboxes = [cast(Inbox, ops[i]) for i in kinds.other_inboxes]
        st._install_hooks(RuntimeContext(info.member, plan.sizes), choose, note, site)
        st._find_inboxes()
        return st

    def _find_inboxes(self) -> None:
        ops = self.rt.ops
        self.inbox_ops = [op for op in (ops[i] for i in self.lp.inbox_ids) if isinstance(op, Inbox)]
        self.keyed_ops = [(i, op) for i, op in ops.items() if not (op.stateless or op.fusable)]
        self.tick_checks = [
            (
                [(cast(Batch, ops[b.id]), (b.id, 0)) for b in tp.batches],
                [s.id for s in tp.snapshots],
                [cast(Deferred, ops[d.id]) for d in tp.deferred],
                tp.info.id if tp.has_const_sources else None,
            )
            for tp in self.lp.ticks
        ]

    def _install_hooks(self, ctx: RuntimeContext, choose: Choose, note: Note, site: SiteChoose | None = None) -> None:
        rt = self.rt
        for tp in self.lp.ticks:
            self.ticks_run[tp.info.id] = 0
            for b in tp.batches:
                if b.op in ATOMIC_ENTRIES:  # the entry of an atomic section run by this tick
                    rt.ops[b.id] = Batch(b, ctx)
                op = rt.ops[b.id]
                assert isinstance(op, Batch)
                op.release = release_nothing
            for s in tp.snapshots:
                op = rt.ops[s.id]
                assert isinstance(op, Snapshot)
                self.versions[s.id] = []
                op.choose = keep_value
            for o in tp.orderings:
                rt.ops[o.id] = InlinePermute(o, ctx, choose, note, site)
        kinds = self.lp.kinds
        assert kinds is not None
        for i in kinds.commutative:
            check_commutative(rt.ops[i])
        for i in kinds.idempotent:
            check_idempotent(rt.ops[i])
        for node in self.lp.observations:
            obs: Observer = MergeObservation(node, ctx) if node.op == "merge" else OrderObservation(node, ctx)
            rt.ops[node.id] = obs
            self.observers.append(obs)
        # --- async user functions: completion order is a decision (``_async``)
        if kinds.asyncs:
            host = SimAsyncHost(choose, note)
            for aop in async_ops([rt.ops[i] for i in kinds.asyncs]):
                aop.host = host

    # ---- running steps ----------------------------------------------------------------------

    def run_steps(self, steps: list[Step]) -> None:
        """Run a step list (the top level, or a tick's body) once, as ``_run_steps`` would:
        through the function generated for it (``runtime.compiled.compile_steps``), which skips
        the generic dispatch of ``run_node`` and the operators with nothing to do."""
        fn = self.step_fns.get(id(steps))
        if fn is None:
            fn = self.step_fns[id(steps)] = self._bind_steps(steps)
        fn()

    def ops_replaced(self) -> None:
        """A driver swapped operators in ``rt.ops`` after the first pass: bind everything again."""
        self.step_fns.clear()
        self.end_lists.clear()
        self._find_inboxes()

    def end_steps(self, steps: list[Step], ids: list[int]) -> None:
        """``end_tick`` on the operators ``ids`` of a step list that just ran."""
        ops = self.rt.ops
        todo = self.end_lists.get(id(steps))
        if todo is None:  # the first pass: every operator (each clears ``first``)
            for i in ids:
                ops[i].end_tick()
            self.end_lists[id(steps)] = [ops[i] for i in ids if resets_each_tick(ops[i])]
            return
        for op in todo:
            op.end_tick()

    def _bind_steps(self, steps: list[Step]) -> Callable[[], None]:
        rt = self.rt
        if not tick_module.COMPILE:  # the generic path, for debugging and comparison
            return functools.partial(_run_steps, rt, steps)
        parts: list[list[Node] | Callable[[], None]] = [
            functools.partial(_run_cycle, rt, comp, keys) if cyclic else comp for cyclic, comp, keys in steps
        ]
        classes = step_classes(rt, parts)
        per = self.lp.templates.setdefault(id(steps), {})
        if classes in per:
            template = per[classes]
        else:
            template = per[classes] = compile_steps(rt, parts)
        if template is None:
            return functools.partial(_run_steps, rt, steps)
        return template.bind(rt, parts)

    # ---- the top level ------------------------------------------------------------------------

    def has_async_work(self) -> bool:
        """Would a top-level pass do anything (first pass, undelivered arrival, full inbox)?"""
        if self.dead:
            return False
        if not self.started or self.arrivals_pos < len(self.arrivals):
            return True
        for op in self.inbox_ops:
            if op.pending:
                return True
        inbox = self.rt.inbox
        for k in self.lp.top_inbox_keys:  # a loop, not any(<genexpr>): this runs around every pass
            if inbox[k]:
                return True
        return False

    def top_pass(self) -> None:
        rt = self.rt
        # a spin is "one None each time the location runs for another reason": its first pass,
        # or a pass that takes in an arrival, not the pass that follows a tick the spin itself fed
        if self.spins:
            quiet = self.started and self.arrivals_pos >= len(self.arrivals) and not any(i.pending for i in self.inboxes)
            for spin in self.spins:
                spin.quiet = quiet
        if self.arrivals_pos < len(self.arrivals):
            # One arrival per pass, so every intermediate version of top-level state exists for
            # snapshots to see (a real deployment may read its inputs one message at a time).
            node_id, x = self.arrivals[self.arrivals_pos]
            self.arrivals_pos += 1
            if self.arrivals_pos == len(self.arrivals):
                self.arrivals = []
                self.arrivals_pos = 0
            op = rt.ops[node_id]
            assert isinstance(op, Inbox)
            op.pending.append(x)
        steps = self.lp.top_steps
        fn = self.step_fns.get(id(steps))  # ``run_steps`` and ``end_steps`` inline: this is every pass
        if fn is None:
            fn = self.step_fns[id(steps)] = self._bind_steps(steps)
        fn()
        if rt.durable_ops:
            rt.persist()  # the pass's durable changes, before end_tick forgets what changed
        todo = self.end_lists.get(id(steps))
        if todo is None:
            self.end_steps(steps, self.lp.top_ids)
        else:
            for op in todo:
                op.end_tick()
        self.started = True
        if self.versions:
            self._record_versions()

    def _record_versions(self) -> None:
        for tp in self.lp.ticks:
            for s in tp.snapshots:
                v = self.rt.ops[s.inputs[0].id].value
                if s.id in self.last_version and _same(v, self.last_version[s.id]):
                    continue
                c = copy_value(v)
                self.last_version[s.id] = c
                self.versions[s.id].append(c)

    # ---- ticks --------------------------------------------------------------------------------

    def tick_runnable(self, ti: int) -> bool:
        """Does tick ``ti`` (an index into ``lp.ticks``) have anything to run?"""
        batches, snapshots, deferred, const_tick = self.tick_checks[ti]
        inbox = self.rt.inbox
        for op, key in batches:
            if op.pending or inbox[key]:
                return True
        for sid in snapshots:
            if self.versions[sid]:
                return True
        for dop in deferred:
            if dop.has_work():
                return True
        return const_tick is not None and self.ticks_run[const_tick] == 0

    def tick_self_triggered(self, tp: TickPlan) -> bool:
        """Would the tick have work with every hook releasing nothing (deferred data, first run)?"""
        for d in tp.deferred:
            op = self.rt.ops[d.id]
            assert isinstance(op, Deferred)
            if op.has_work():
                return True
        return tp.has_const_sources and self.ticks_run[tp.info.id] == 0

    def hook_can_trigger(self, h: Node) -> bool:
        if h.op in RELEASED_LIKE_BATCHES:
            op = self.rt.ops[h.id]
            assert isinstance(op, Batch)
            return bool(op.pending)
        return bool(self.versions[h.id])

    def take_batch_inputs(self, tp: TickPlan) -> None:
        """What arrived for each batch of the tick joins what it has not released yet."""
        rt = self.rt
        for b in tp.batches:
            op = rt.ops[b.id]
            assert isinstance(op, Batch)
            op.pending.extend(_take(rt, (b.id, 0)))

    def run_tick_body(self, tp: TickPlan) -> None:
        """Run the tick with what its hooks were decided to release, then end it."""
        rt = self.rt
        self.run_steps(tp.steps)
        for d in tp.deferred:
            dop = rt.ops[d.id]
            assert isinstance(dop, Deferred)
            idx: int = d.params["deferred"][0]
            if idx >= len(d.inputs):  # pragma: no cover - build() rejects incomplete cycles
                continue
            src: Op = rt.ops[d.inputs[idx].id]
            dop.capture(src if (src.scalar or src.by_reference) else _take(rt, (d.id, idx)))
        if rt.durable_ops:
            rt.persist()
        self.end_steps(tp.steps, tp.node_ids)
        self.ticks_run[tp.info.id] += 1
        if self.versions:
            self._record_versions()


@dataclass(frozen=True)
class HookedKinds:
    """The operators of a location that ``SimLocation.build`` treats specially, by id: each is
    fixed by its node, so the first instance finds them and every later one reuses the lists
    (building an instance is a large part of a short execution)."""

    spins: list[int]
    other_inboxes: list[int]  # the inboxes that are not spins
    commutative: list[int]  # folds whose commutative= claim the simulator checks
    idempotent: list[int]  # folds whose idempotent= claim the simulator checks
    asyncs: list[int]  # async user functions (their completion order is a decision)


def _hooked_kinds(ops: dict[int, Op]) -> HookedKinds:
    def claimed(op: Op, proof: str) -> bool:
        n = op.node
        if n.op not in CLAIMED_FOLDS or proof not in n.proofs or not n.inputs:
            return False
        return n.inputs[0].order is NoOrder if proof == "commutative" else n.inputs[0].retries is AtLeastOnce

    spins = {id(o) for o in spin_ops(ops.values())}
    asyncs = {id(o) for o in async_ops(ops.values())}
    return HookedKinds(
        spins=[i for i, o in ops.items() if id(o) in spins],
        other_inboxes=[i for i, o in ops.items() if isinstance(o, Inbox) and id(o) not in spins],
        commutative=[i for i, o in ops.items() if claimed(o, "commutative")],
        idempotent=[i for i, o in ops.items() if claimed(o, "idempotent")],
        asyncs=[i for i, o in ops.items() if id(o) in asyncs],
    )


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


def _run_steps(rt: LocationRuntime, steps: list[Step]) -> None:
    run = rt.run_node
    for cyclic, comp, keys in steps:
        if not cyclic:
            for n in comp:
                run(n)
            continue
        _run_cycle(rt, comp, keys)


def _run_cycle(rt: LocationRuntime, comp: list[Node], keys: list[tuple[int, int]]) -> None:
    """A same-tick cycle, pass after pass until no edge inside it (``keys``) has data."""
    run = rt.run_node
    inbox = rt.inbox
    for _ in range(MAX_FIXPOINT):
        for n in comp:
            run(n)
        if not any(inbox[k] for k in keys):
            return
    raise HydroRuntimeError(  # pragma: no cover - a diverging user cycle
        f"{rt.name}: same-tick cycle through {comp[0].describe()} did not reach a fixpoint"
    )


def _take(rt: LocationRuntime, key: tuple[int, int]) -> list[Any]:
    chunks = rt.inbox[key]
    if not chunks:
        return []
    rt.inbox[key] = []
    if len(chunks) == 1:
        return list(chunks[0])
    out: list[Any] = []
    for c in chunks:
        out.extend(c)
    return out
