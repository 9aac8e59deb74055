"""One simulated execution: every location instance in this process, driven by one chooser.

``SimInstance`` is the ``Driver`` that ``SimInput``/``SimOutput`` ports talk to while a scenario
runs. It owns a fresh ``LocationRuntime`` per process and cluster member and runs them like
Hydro's simulator does:

* **Settle** (deterministic, never branches): top-level passes at every location until no inbox
  has data. Network sends land in the receiver's inbox and are processed in the same settle.
* **Steps** (the only branching): when something waits, pick one runnable unit, either a tick
  (its batches and snapshots decide what it sees, with the forced-release rule so that no tick
  runs empty) or a top-level observation (``assume_ordering``/``merge_ordered`` releasing one
  element), run it, settle again.

Which unit runs next is itself a decision, reduced three ways (argued in ``docs/simulator.md``):
units that cannot influence the output being awaited are not run yet (delaying work never loses
a behaviour, because hooks may always release less than has arrived); only the connected
component of mutually dependent instances that holds the first runnable unit is considered (a
persistent set); and a sleep set skips orders of independent units already covered by a sibling.

Absence assertions (``assert_yields_only``, ``assert_no_more``) read what they expect with
waiting reads, then leave an *absence check* pending. The check is done for free if the program
quiesces deterministically, at the end of the scenario, or at the next send, where the search
forks: one branch runs the pending work and checks (then ends), the other continues without it,
so no later state is hidden by the check (hydro-sim.md §2.5).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

from ..ir.node import Node
from ..runtime.routing import route_network
from ..runtime.ops import ABSENT, Batch, Deferred, Inbox, Op, OutputSink, RuntimeContext, Snapshot
from ..runtime.tick import LocationRuntime
from ..types.errors import HydroRuntimeError, UsageError
from ..types.markers import AtLeastOnce, NoOrder
from ..types.site import Site, caller_site
from ._choices import Chooser
from ._errors import InstanceEnded, RedundantExecution
from ._hooks import (
    InlinePermute,
    MergeObservation,
    OrderObservation,
    check_commutative,
    check_idempotent,
    choose_subset,
    permute,
)
from ._plan import InstanceInfo, LocPlan, Plan, Step, TickPlan
from ._trace import Trace, show_value, show_values

__all__ = ["SimInstance"]

MAX_PASSES = 1_000_000
MAX_FIXPOINT = 100_000
MAX_STEPS = 1_000_000

_CLAIMED_FOLDS = ("fold", "reduce", "keyed_fold", "keyed_reduce")

Unit = tuple[int, int, int]  # (instance index, 0 = tick / 1 = observation, index in its LocPlan list)


@dataclass(eq=False)
class _Loc:
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
    observers: list[Any] = field(default_factory=lambda: [])


@dataclass
class _AbsenceCheck:
    node: Node
    expected: list[Any]
    consumed: list[Any]
    unordered: bool
    site: Site
    method: str


def _copy(v: Any) -> Any:
    if isinstance(v, dict):
        return dict(v)  # pyright: ignore[reportUnknownArgumentType,reportUnknownVariableType]
    if isinstance(v, list):
        return list(v)  # pyright: ignore[reportUnknownArgumentType,reportUnknownVariableType]
    if isinstance(v, set):
        return set(v)  # pyright: ignore[reportUnknownArgumentType,reportUnknownVariableType]
    return v


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:
        return False


def _run_steps(rt: LocationRuntime, steps: list[Step]) -> None:
    run = rt.run_node
    inbox = rt.inbox
    for cyclic, comp, keys in steps:
        if not cyclic:
            for n in comp:
                run(n)
            continue
        for _ in range(MAX_FIXPOINT):
            for n in comp:
                run(n)
            if not any(inbox[k] for k in keys):
                break
        else:  # pragma: no cover - a diverging user cycle
            raise HydroRuntimeError(f"{rt.name}: same-tick cycle through {comp[0].describe()} did not reach a fixpoint")


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


class SimInstance:
    """A fresh copy of the program, driven by ``chooser``; implements the ports' ``Driver``."""

    def __init__(self, plan: Plan, chooser: Chooser, *, naive: bool = False) -> None:
        self.plan = plan
        self.chooser = chooser
        self.trace = Trace()
        self.sleep: set[Unit] = set()
        self.ended = False
        self.checks: list[_AbsenceCheck] = []
        self.interactions = 0
        self.steps_run = 0
        self._rr: dict[Hashable, int] = {}
        self._now = 0.0  # virtual time, advanced only by the scenario (advance_time)
        self._timer_last: dict[int, float] = {}
        self.locs: list[_Loc] = []
        for info in plan.instances:
            lp = plan.locs[info.loc.id]
            # fuse=False: the simulator runs top-level and tick nodes in separate passes and hooks
            # operator inputs, so every operator must run as its own step.
            rt = LocationRuntime(plan.graph, info.loc, info.member, plan.sizes, self._egress_for(info.index), fuse=False)
            st = _Loc(info, lp, rt)
            self._install_hooks(st)
            self.locs.append(st)
        self._restrict_cache: dict[int, frozenset[int]] = {}
        self._chosen_among = 1
        self._dirty: set[int] = set(range(len(self.locs)))  # instances that may have top-level work
        self.settle()

    # ---- decisions ------------------------------------------------------------------------

    def choose(self, n: int) -> int:
        if n <= 1:
            return 0
        return self.chooser.choose(n)

    def _note(self, node: Node, what: str | Callable[[], str]) -> None:
        self.trace.note(node, what)

    # ---- construction ------------------------------------------------------------------------

    def _install_hooks(self, st: _Loc) -> None:
        rt = st.rt
        ctx = RuntimeContext(st.info.member, self.plan.sizes)
        for tp in st.lp.ticks:
            st.ticks_run[tp.info.id] = 0
            for b in tp.batches:
                if b.op == "atomic":  # the entry of an atomic section run by this tick
                    rt.ops[b.id] = Batch(b, ctx)
                op = rt.ops[b.id]
                assert isinstance(op, Batch)
                op.release = _release_nothing
            for s in tp.snapshots:
                op = rt.ops[s.id]
                assert isinstance(op, Snapshot)
                st.versions[s.id] = []
                op.choose = _keep_value
            for o in tp.orderings:
                rt.ops[o.id] = InlinePermute(o, ctx, self.choose, self._note)
        for op in list(rt.ops.values()):
            n = op.node
            if n.op in _CLAIMED_FOLDS and "commutative" in n.proofs and n.inputs and n.inputs[0].order is NoOrder:
                check_commutative(op)
            if n.op in _CLAIMED_FOLDS and "idempotent" in n.proofs and n.inputs and n.inputs[0].retries is AtLeastOnce:
                check_idempotent(op)
        for node in st.lp.observations:
            obs: Op = MergeObservation(node, ctx) if node.op == "merge" else OrderObservation(node, ctx)
            rt.ops[node.id] = obs
            st.observers.append(obs)

    # ---- channels ------------------------------------------------------------------------------

    def _egress_for(self, sender_index: int) -> Callable[[Node, int | None, list[Any]], None]:
        return functools.partial(self._egress, sender_index)

    def _egress(self, sender_index: int, net: Node, sender: int | None, items: list[Any]) -> None:
        targets = self.plan.by_loc[net.params["to"].id]
        routed = route_network(net, len(targets), items, self._rr, (net.id, sender_index, sender), sender=sender)
        if net.params.get("channel", "fail_stop") == "fail_stop":
            for i, batch in routed:
                self._deliver(targets[i], net.id, batch)
            return
        # A channel declared lossy: each message to each receiver is a decision, deliver or lose
        # it (SPEC §8: drops on channels the program declares lossy).
        token = net.params.get("channel_nondet")
        reason = token.reason if token is not None else "a lossy_delayed_forever channel may delay a message forever"
        step_open = False
        for i, batch in routed:
            for x in batch:
                if self.choose(2) == 0:
                    self._deliver(targets[i], net.id, [x])
                    continue
                if not step_open:
                    self.trace.step(f"lossy channel `{net.method}` at {net.site}, nondet {reason!r}")
                    step_open = True
                self._note(net, f"losing {show_value(x)} on its way to {self.locs[targets[i]].info.name}")

    def _deliver(self, index: int, node_id: int, items: list[Any]) -> None:
        if not items:
            return
        self._dirty.add(index)
        st = self.locs[index]
        if st.lp.trickle:
            st.arrivals.extend((node_id, x) for x in items)
        else:
            op = st.rt.ops[node_id]
            assert isinstance(op, Inbox)
            op.pending.extend(items)

    # ---- deterministic work -------------------------------------------------------------------

    def _async_work(self, st: _Loc) -> bool:
        if not st.started or st.arrivals_pos < len(st.arrivals):
            return True
        ops = st.rt.ops
        for i in st.lp.inbox_ids:
            op = ops[i]
            if isinstance(op, Inbox) and op.pending:
                return True
        inbox = st.rt.inbox
        return any(inbox[k] for k in st.lp.top_inbox_keys)

    def _top_pass(self, st: _Loc) -> None:
        rt = st.rt
        if st.arrivals_pos < len(st.arrivals):
            # One arrival per pass, so every intermediate version of top-level state exists for
            # snapshots to see (a real deployment may read its inputs one message at a time).
            node_id, x = st.arrivals[st.arrivals_pos]
            st.arrivals_pos += 1
            if st.arrivals_pos == len(st.arrivals):
                st.arrivals = []
                st.arrivals_pos = 0
            op = rt.ops[node_id]
            assert isinstance(op, Inbox)
            op.pending.append(x)
        _run_steps(rt, st.lp.top_steps)
        ops = rt.ops
        for i in st.lp.top_ids:
            ops[i].end_tick()
        st.started = True
        if st.versions:
            self._record_versions(st)

    def _record_versions(self, st: _Loc) -> None:
        for tp in st.lp.ticks:
            for s in tp.snapshots:
                v = st.rt.ops[s.inputs[0].id].value
                if s.id in st.last_version and _same(v, st.last_version[s.id]):
                    continue
                c = _copy(v)
                st.last_version[s.id] = c
                st.versions[s.id].append(c)

    def settle(self) -> None:
        """Run every location's top level until no inbox has data (deterministic, no decisions)."""
        passes = 0
        dirty = self._dirty
        while dirty:
            idx = min(dirty)  # a fixed order, so that every execution settles the same way
            st = self.locs[idx]
            if not self._async_work(st):
                dirty.discard(idx)
                continue
            self._top_pass(st)
            passes += 1
            if passes > MAX_PASSES:
                raise HydroRuntimeError(
                    f"top-level work at {st.info.name} did not settle after {MAX_PASSES} passes "
                    "(a top-level cycle may keep producing new data)"
                )

    # ---- units: ticks and observations -----------------------------------------------------------

    def _tick_runnable(self, st: _Loc, tp: TickPlan) -> bool:
        rt = st.rt
        for b in tp.batches:
            op = rt.ops[b.id]
            assert isinstance(op, Batch)
            if op.pending or rt.inbox[(b.id, 0)]:
                return True
        for s in tp.snapshots:
            if st.versions[s.id]:
                return True
        return self._tick_self_triggered(st, tp)

    def _tick_self_triggered(self, st: _Loc, tp: TickPlan) -> bool:
        for d in tp.deferred:
            op = st.rt.ops[d.id]
            assert isinstance(op, Deferred)
            if op.has_work():
                return True
        return tp.has_const_sources and st.ticks_run[tp.info.id] == 0

    def runnable(self, restrict: frozenset[int] | None) -> list[Unit]:
        out: list[Unit] = []
        for st in self.locs:
            idx = st.info.index
            if restrict is not None and idx not in restrict:
                continue
            for ti, tp in enumerate(st.lp.ticks):
                if self._tick_runnable(st, tp):
                    out.append((idx, 0, ti))
            for oi, obs in enumerate(st.observers):
                if obs.pending():
                    out.append((idx, 1, oi))
        return out

    def _pick(self, cands: list[Unit]) -> Unit:
        comp = self.plan.component
        c0 = comp[cands[0][0]]
        cands = [u for u in cands if comp[u[0]] == c0]  # a persistent set: one component's work
        awake = [u for u in cands if u not in self.sleep]
        if not awake:
            raise RedundantExecution()
        i = self.choose(len(awake))
        u = awake[i]
        if self.sleep or i:
            dep = self.plan.dependent
            self.sleep = {s for s in (self.sleep | set(awake[:i])) if not dep(s[0], u[0])}
        self._chosen_among = len(awake)
        return u

    def run_unit(self, u: Unit) -> None:
        st = self.locs[u[0]]
        among = f" (chosen among {self._chosen_among} runnable)" if self._chosen_among > 1 else ""
        if u[1] == 0:
            tp = st.lp.ticks[u[2]]
            self.trace.step(lambda: f"tick at {st.info.name} (the tick made at {tp.info.site}){among}")
            self._run_tick(st, tp)
            self._dirty.add(u[0])
        else:
            obs = st.observers[u[2]]
            self.trace.step(f"observation at {st.info.name}{among}")
            self._note(obs.node, obs.decide(self.choose))
            self._top_pass(st)
            self._dirty.add(u[0])
        self.steps_run += 1
        if self.steps_run > MAX_STEPS:
            raise HydroRuntimeError(f"the program did not quiesce within {MAX_STEPS} steps")
        self.settle()
        if self.checks:
            self._verify_checks(final=False)

    def _run_tick(self, st: _Loc, tp: TickPlan) -> None:
        rt = st.rt
        for b in tp.batches:
            op = rt.ops[b.id]
            assert isinstance(op, Batch)
            op.pending.extend(_take(rt, (b.id, 0)))
        triggered = self._tick_self_triggered(st, tp)
        hooks: list[Node] = sorted(tp.batches + tp.snapshots, key=lambda n: n.id)
        can = [self._hook_can_trigger(st, h) for h in hooks]
        for i, h in enumerate(hooks):
            forced = not triggered and can[i] and not any(can[i + 1 :])
            if h.op in ("batch", "atomic"):  # an atomic section entry is released like a batch
                triggered = self._decide_batch(st, h, forced) or triggered
            else:
                triggered = self._decide_snapshot(st, h, forced) or triggered
        _run_steps(rt, tp.steps)
        for d in tp.deferred:
            dop = rt.ops[d.id]
            assert isinstance(dop, Deferred)
            idx: int = d.params["deferred"][0]
            if idx >= len(d.inputs):  # pragma: no cover - build() rejects incomplete cycles
                continue
            src = rt.ops[d.inputs[idx].id]
            dop.capture(src if (src.scalar or src.by_reference) else _take(rt, (d.id, idx)))
        ops = rt.ops
        for i in tp.node_ids:
            ops[i].end_tick()
        st.ticks_run[tp.info.id] += 1
        if st.versions:
            self._record_versions(st)

    def _hook_can_trigger(self, st: _Loc, h: Node) -> bool:
        if h.op in ("batch", "atomic"):
            op = st.rt.ops[h.id]
            assert isinstance(op, Batch)
            return bool(op.pending)
        return bool(st.versions[h.id])

    def _decide_batch(self, st: _Loc, node: Node, forced: bool) -> bool:
        op = st.rt.ops[node.id]
        assert isinstance(op, Batch)
        pending = op.pending
        n = len(pending)
        if n == 0:
            op.release = _release_nothing
            return False
        if node.order is NoOrder:
            idx = choose_subset(self.choose, n, forced)
            chosen = set(idx)
            out = [pending[i] for i in idx]
            op.pending = [x for i, x in enumerate(pending) if i not in chosen]
            kind = "unordered "
        elif node.kind == "keyed_stream":
            out, rest = self._keyed_prefix(pending, forced)
            op.pending = rest
            kind = "per-key prefix of "
        else:
            f = 1 if forced else 0
            c = f + self.choose(n - f + 1)
            out = pending[:c]
            op.pending = pending[c:]
            kind = ""
        op.release = functools.partial(_release, out)
        if out:
            held = f", holding back {len(op.pending)}" if op.pending else ""
            self._note(node, lambda: f"releasing {kind}items: {show_values(out)}{held}")
        else:
            self._note(node, f"releasing no items ({n} waiting)")
        return bool(out)

    def _keyed_prefix(self, pending: list[Any], forced: bool) -> tuple[list[Any], list[Any]]:
        counts: dict[Any, int] = {}
        for k, _ in pending:
            counts[k] = counts.get(k, 0) + 1
        keys = list(counts)
        take: dict[Any, int] = {}
        any_taken = False
        for j, k in enumerate(keys):
            f = 1 if (forced and not any_taken and j == len(keys) - 1) else 0
            take[k] = f + self.choose(counts[k] - f + 1)
            any_taken = any_taken or take[k] > 0
        out: list[Any] = []
        rest: list[Any] = []
        seen: dict[Any, int] = {}
        for kv in pending:
            s = seen.get(kv[0], 0)
            (out if s < take[kv[0]] else rest).append(kv)
            seen[kv[0]] = s + 1
        return out, rest

    def _decide_snapshot(self, st: _Loc, node: Node, forced: bool) -> bool:
        op = st.rt.ops[node.id]
        assert isinstance(op, Snapshot)
        vs = st.versions[node.id]
        has_current = node.id in st.current
        if not vs:
            op.choose = functools.partial(_fixed_value, st.current[node.id]) if has_current else _keep_value
            return False
        if has_current and not forced:
            k = self.choose(len(vs) + 1)
            if k == 0:
                cur = st.current[node.id]
                op.choose = functools.partial(_fixed_value, cur)
                m = len(vs)
                self._note(node, lambda: f"releasing unchanged snapshot: {_show(cur)} ({m} newer version(s) not yet seen)")
                return False
            i = k - 1
        else:
            i = self.choose(len(vs))
        v = vs[i]
        skipped = vs[:i]
        del vs[: i + 1]
        st.current[node.id] = v
        op.choose = functools.partial(_fixed_value, v)
        self._note(node, lambda: f"releasing snapshot: {_show(v)}{_skipped(skipped)}")
        return True

    # ---- driving ---------------------------------------------------------------------------------

    def _restrict_for(self, node: Node) -> frozenset[int]:
        r = self._restrict_cache.get(node.id)
        if r is None:
            targets = set(self.plan.by_loc[node.root.id])
            r = frozenset(i for i, reach in enumerate(self.plan.reach) if reach & targets)
            self._restrict_cache[node.id] = r
        return r

    def run_until_quiet(self) -> None:
        while True:
            self.settle()
            cands = self.runnable(None)
            if not cands:
                return
            self.run_unit(self._pick(cands))

    def _sinks(self, node: Node) -> list[OutputSink]:
        out: list[OutputSink] = []
        for i in self.plan.by_loc[node.root.id]:
            s = self.locs[i].rt.sinks[node.id]
            out.append(s)
        return out

    def _available(self, node: Node) -> bool:
        return any(s.buffer for s in self._sinks(node))

    def _pop(self, node: Node) -> Any:
        for s in self._sinks(node):
            if s.buffer:
                return s.buffer.pop(0)
        raise AssertionError("unreachable")  # pragma: no cover

    def _drain(self, node: Node) -> list[Any]:
        out: list[Any] = []
        for s in self._sinks(node):
            out.extend(s.buffer)
            s.buffer = []
        return out

    def wait_output(self, node: Node) -> bool:
        """Run steps that can lead to ``node`` until it has an element; False if none can come."""
        restrict = self._restrict_for(node)
        while True:
            self.settle()
            if self._available(node):
                return True
            cands = self.runnable(restrict)
            if not cands:
                return False
            self.run_unit(self._pick(cands))

    def _alive(self) -> None:
        if self.ended:
            raise InstanceEnded()
        self.interactions += 1

    # ---- absence checks ---------------------------------------------------------------------------

    def _verify_checks(self, final: bool) -> None:
        for c in self.checks:
            if self._available(c.node):
                extra = self._drain(c.node)
                got = c.consumed + extra
                how = "in any order " if c.unordered else ""
                raise AssertionError(
                    f"output at {c.node.site}: expected only {c.expected!r} {how}(`{c.method}` at {c.site}), "
                    f"got {got!r}: {show_values(extra)} arrived once the pending work ran"
                )
        if final:
            self.checks = []

    def _resolve_checks_before_send(self) -> None:
        if not self.checks:
            return
        self.settle()
        if not self.runnable(None):
            self._verify_checks(final=True)
            return
        sites = ", ".join(f"`{c.method}` at {c.site}" for c in self.checks)
        if self.choose(2) == 0:
            self.trace.step(f"checking that nothing more arrives ({sites}); this execution ends after the check")
            self.run_until_quiet()
            self._verify_checks(final=True)
            self.ended = True
            raise InstanceEnded()
        self.trace.step(f"continuing past {sites} without running the pending work (the sibling execution checks it)")
        self.checks = []

    def finish(self) -> None:
        """The scenario returned: absence checks still pending are decided now."""
        if self.checks:
            self.run_until_quiet()
            self._verify_checks(final=True)

    # ---- the Driver protocol ------------------------------------------------------------------------

    def input_send(self, node: Node, values: list[Any], member: int | None, unordered: bool) -> None:
        self._alive()
        self._resolve_checks_before_send()
        idxs = self.plan.by_loc[node.root.id]
        if node.root.is_cluster:
            if member is None or not 0 <= member < len(idxs):
                raise UsageError(
                    "HL501",
                    f"input built at {node.site} is on {node.root} ({len(idxs)} members): pass member=0..{len(idxs) - 1}",
                )
            target = idxs[member]
        else:
            target = idxs[0]
        if unordered and len(values) > 1 and self._order_sensitive(node):
            values = permute(self.choose, values)
            self.trace.step(f"send_many_unordered into {self.locs[target].info.name}")
            self.trace.note(f"`sim_input` at {node.site} (the values arrive in any order)", f"arrival order: {show_values(values)}")
        self._deliver(target, node.id, list(values))
        self.sleep.clear()
        self.settle()

    def advance_time(self, seconds: float) -> None:
        """Scenario-controlled virtual time: fire every ``source_interval`` that is due.

        Timers are nondet sites (when they fire relative to other input); in the simulator the
        scenario decides, by calling ``hydrologic.advance_time`` between sends, as Hydro's tests
        drive time through inputs.
        """
        self._alive()
        self._resolve_checks_before_send()
        self._now += seconds
        fired = self._timer_last
        for node in self.plan.graph.nodes:
            if node.op != "source_interval":
                continue
            period: float = node.params["seconds"]
            last = fired.get(node.id, 0.0)
            stamps: list[Any] = []
            while last + period <= self._now:
                last += period
                stamps.append(last)
            fired[node.id] = last
            if stamps:
                self.trace.step(f"time advances to {self._now:g}s")
                self.trace.note(node, f"timer fires at {show_values(stamps)}")
                for target in self.plan.by_loc[node.root.id]:
                    self._deliver(target, node.id, list(stamps))
        self.sleep.clear()
        self.settle()

    def _order_sensitive(self, node: Node) -> bool:
        """Does anything consume this input as ordered? If every consumer weakens the order first,
        the arrival order is unobservable and exploring it would only repeat executions."""
        cache = self.plan.order_sensitive
        r = cache.get(node.id)
        if r is None:
            r = any(node in n.inputs and n.order is not NoOrder for n in self.plan.graph.nodes)
            cache[node.id] = r
        return r

    def output_next(self, node: Node) -> tuple[bool, Any]:
        self._alive()
        ok = self.wait_output(node)
        self.sleep.clear()
        if not ok:
            return False, None
        return True, self._pop(node)

    def output_drain(self, node: Node) -> list[Any]:
        self._alive()
        self.run_until_quiet()
        if self.checks:
            self._verify_checks(final=True)
        self.sleep.clear()
        return self._drain(node)

    def output_expect_only(
        self, node: Node, expected: list[Any], unordered: bool, *, method: str = "assert_yields_only", site: Site | None = None
    ) -> list[Any]:
        """Everything from now on is ``expected``: read that many elements with waiting reads,
        then leave a pending absence check (see the module docstring). Returns what was read."""
        self.settle()
        if not self.runnable(None):
            self.sleep.clear()
            return self._drain(node)
        got: list[Any] = []
        for _ in expected:
            if not self.wait_output(node):
                break
            got.append(self._pop(node))
        self.sleep.clear()
        self.checks.append(_AbsenceCheck(node, list(expected), list(got), unordered, site or caller_site(), method))
        return got


def _release_nothing(op: Batch, pending: list[Any]) -> list[Any]:
    return []


def _release(out: list[Any], op: Batch, pending: list[Any]) -> list[Any]:
    return out


def _keep_value(op: Snapshot, v: Any) -> Any:
    return op.value if op.value is not ABSENT else v


def _fixed_value(v: Any, op: Snapshot, current: Any) -> Any:
    return _copy(v)


def _skipped(vs: list[Any]) -> str:
    return f" (skipping earlier versions: {', '.join(_show(x) for x in vs)})" if vs else ""


def _show(v: Any) -> str:
    return "absent" if v is ABSENT else show_value(v)

