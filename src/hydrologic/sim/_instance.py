"""One simulated execution: every location instance in this process, driven by one chooser.

``SimInstance`` is the ``Driver`` that ``SimInput``/``SimOutput`` ports talk to while a scenario
runs. It holds a fresh ``SimLocation`` per process and cluster member and runs them like Hydro's
simulator does:

* **Settle** (deterministic, never branches): top-level passes at every location until no inbox
  has data. Network sends land in the receiver's inbox and are processed in the same settle.
* **Steps** (the only branching): when something waits, pick one runnable unit, either a tick
  (its batches and snapshots decide what it sees, with the forced-release rule so that no tick
  runs empty) or a top-level observation (``assume_ordering``/``merge_ordered`` releasing one
  element), run it, settle again.

The work is split among child objects that each own the state of one problem, the way
Hypothesis's ``ConjectureRunner`` owns a ``Shrinker``: the ``Network`` moves data and settles
(``_network``), the ``Scheduler`` picks the next unit with the reductions of ``docs/simulator.md``
(``_scheduler``), the ``Decider`` answers every nondet site with the chooser (``_decider``). The
instance keeps the ports' API and the orchestration: running a picked unit, waiting for an
output, virtual time, and absence checks.

Absence assertions (``assert_yields_only``, ``assert_no_more``) read what they expect with
waiting reads, then leave an *absence check* pending. The check is done for free if the program
quiesces deterministically, at the end of the scenario, or at the next send, where the search
forks: one branch runs the pending work and checks (then ends), the other continues without it,
so no later state is hidden by the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..ir.node import Node
from ..runtime.ops import OutputSink
from ..runtime.ops.timers import first_fire
from ..types.errors import HydroRuntimeError, UsageError
from ..types.markers import NoOrder
from ..types.site import Site, caller_site
from ._choices import Chooser
from ._consistency import check_consistency_claims, claimed_consistent
from ..storage import MemoryStore
from ._decider import Decider
from ._errors import InstanceEnded, RedundantExecution
from ._faults import Faults
from ._invariants import check_invariants
from ._location import SimLocation, new_stamp
from ._network import Network
from ._plan import Plan, TickPlan
from ._scheduler import Scheduler, Unit
from ._symmetry import SymmetryError
from ._trace import Trace, show_values

if TYPE_CHECKING:
    from ._reuse import Image
    from ._rewind import Rewinder

__all__ = ["SimInstance"]

MAX_STEPS = 1_000_000

# Output values that cannot hold part of an instance's recorded start state (``_reuse``).
_PLAIN: frozenset[type] = frozenset({int, str, float, bool, bytes, type(None)})


def _among(n: int) -> str:
    return f" (chosen among {n} runnable)" if n > 1 else ""


@dataclass
class _AbsenceCheck:
    node: Node
    expected: list[Any]
    consumed: list[Any]
    unordered: bool
    site: Site
    method: str


class SimInstance:
    """A fresh copy of the program, driven by ``chooser``; implements the ports' ``Driver``."""

    def __init__(self, plan: Plan, chooser: Chooser) -> None:
        self.plan = plan
        self.trace = Trace()
        self.ended = False
        self.checks: list[_AbsenceCheck] = []
        self.interactions = 0
        self.steps_run = 0
        self._now = 0.0  # virtual time, advanced only by the scenario (advance_time)
        self._timer_last: dict[int, float] = {}
        self.memory: dict[Any, Any] = {}  # what invariants note across the steps of this execution
        # with state caching (``_states``): every driver call and every value taken from an
        # output, in order, which with the program's state determines where the scenario is
        self.log: list[Any] | None = None
        # with the symmetry reduction (``_symmetry``): per symmetric cluster, per member, what
        # the scenario sent since the last scheduling decision (it must be alike for all)
        self.sym_sends: dict[int, dict[int, list[Any]]] = {}
        self.locs: list[SimLocation] = []  # shared with the network and the scheduler
        # reuse by a search (``_reuse``): the recorded start state this instance is put back
        # into before its next execution, whether its execution is over (``run_once`` sets it
        # unless it failed), and whether the scenario was handed part of that start state
        self.image: Image | None = None
        self.spent = False
        # backtracking inside a driver call (``_rewind``): set by an exhaustive search for one
        # execution; ``calls`` numbers the loops of steps, so that a pruned execution goes back
        # only to a state recorded in the loop it is in
        self.rewinder: Rewinder | None = None
        self.calls = 0
        self.escaped = False
        self.decider = self._new_decider(chooser)
        self.network = self._new_network()
        self.scheduler = self._new_scheduler()
        # Durable state lives in a store per instance, outside its SimLocation: a crash replaces
        # the location and keeps the store (``_faults``).
        self.stores = [MemoryStore(info.name) for info in plan.instances]
        self.faults = Faults(self, plan.faults)
        for info in plan.instances:
            self.locs.append(self.fresh_location(info.index))
        for i in plan.spares:  # spare cluster members: absent until a join (``_faults``)
            self.locs[i].dead = True
        for st in self.locs:  # every member starts UP(0); deaths, restarts, leaves and joins come later
            if not st.dead:
                self.faults.open_liveness(st.info.index)
        self.network.dirty.update(i for i, st in enumerate(self.locs) if not st.dead)
        self.network.settle()

    def fresh_location(self, index: int) -> SimLocation:
        """A new incarnation of instance ``index``: empty volatile state, durable state recovered."""
        info = self.plan.instances[index]
        egress = self.network.egress_for(index)
        return SimLocation.build(
            self.plan, info, egress, self.decider.choose, self.decider.note, self.stores[index], self.decider.site_choose
        )

    # The child objects, made once per execution; a variant explorer (``_naive``) overrides these.

    def _new_decider(self, chooser: Chooser) -> Decider:
        return Decider(chooser, self.trace, self.plan.rules)

    def _new_network(self) -> Network:
        return Network(self.plan, self.locs, self.decider)

    def _new_scheduler(self) -> Scheduler:
        return Scheduler(self.plan, self.locs, self.decider)

    # ---- running units ----------------------------------------------------------------------------

    def run_unit(self, u: Unit) -> None:
        sched = self.scheduler
        network = self.network
        touched: set[int] = set()
        network.touched = touched
        st = self.locs[u[0]]
        n = self.scheduler.chosen_among  # the step's title is made only if a trace is shown
        if u[1] == 0:
            tp = st.lp.ticks[u[2]]
            step = self.trace.step(lambda: f"tick at {st.info.name} (the tick made at {tp.info.site}){_among(n)}")
            self._run_tick(st, tp)
        else:
            obs = st.observers[u[2]]
            step = self.trace.step(lambda: f"observation at {st.info.name}{_among(n)}")
            self.decider.observe(obs)
            st.top_pass()
        self.network.dirty.add(u[0])
        self.steps_run += 1
        if self.steps_run > MAX_STEPS:
            raise HydroRuntimeError(f"the program did not quiesce within {MAX_STEPS} steps")
        network.settle()
        network.touched = None
        # the unit's instance and those it delivered to (whose top levels ran while settling)
        # are the only ones this step may have changed
        st.stamp = new_stamp()
        for i in touched:
            self.locs[i].stamp = new_stamp()
        sched.after_run(touched)
        if self.checks:
            self._verify_checks(final=False)
        if self.plan.invariants:
            check_invariants(self, step.title)

    def _run_tick(self, st: SimLocation, tp: TickPlan) -> None:
        st.take_batch_inputs(tp)
        self.decider.decide_tick(st, tp)
        st.run_tick_body(tp)

    # ---- waiting for outputs ----------------------------------------------------------------------

    def run_until_quiet(self) -> None:
        self._new_loop()
        while True:
            try:
                self.network.settle()
                if self.faults.maybe(" while the program runs to quiescence"):
                    continue
                cands = self.scheduler.runnable(None)
                if not cands:
                    return
                self.run_unit(self.scheduler.pick(cands))
            except RedundantExecution:
                if self.rewinder is None or not self.rewinder.rewind():
                    raise

    def _new_loop(self) -> None:
        """A driver call starts a loop of steps. What the scenario did since the last one (sends,
        reads, time) may have changed any instance, so every stamp is renewed; within the loop
        only steps change instances, and each renews the stamps of those it may have changed."""
        self.calls += 1
        for st in self.locs:
            st.stamp = new_stamp()

    def _sinks(self, node: Node) -> list[OutputSink]:
        out: list[OutputSink] = []
        for i in self.plan.by_loc[node.root.id]:
            s = self.locs[i].rt.sinks[node.id]
            out.append(s)
        return out

    def _available(self, node: Node) -> bool:
        return any(s.buffer for s in self._sinks(node))

    def _pop(self, node: Node) -> Any:
        sym = self.plan.symmetric
        if sym is not None and node.root.id in sym.cluster_ids:
            waiting = [m for m, s in enumerate(self._sinks(node)) if s.buffer]
            if len(waiting) > 1:
                raise SymmetryError(
                    "HL501",
                    f"the scenario reads one element of an output of {node.root} while members {waiting} all have one "
                    f"waiting: the one it gets is the lowest member's, which singles that member out, and {node.root} is "
                    "declared symmetric (symmetric=...); read them all (collect) and compare them without their order, "
                    "or drop it from symmetric=",
                )
        for s in self._sinks(node):
            if s.buffer:
                x = s.buffer.pop(0)
                if self.log is not None:
                    self.log.append((node.id, x))
                if self.image is not None and type(x) not in _PLAIN and self.image.holds(x):
                    self.escaped = True
                return x
        raise AssertionError("unreachable")  # pragma: no cover

    def _drain(self, node: Node) -> list[Any]:
        out: list[Any] = []
        for s in self._sinks(node):
            out.extend(s.buffer)
            s.buffer = []
        img = self.image
        if img is not None and any(type(x) not in _PLAIN for x in out) and img.holds(out):
            self.escaped = True
        if self.log is not None:
            self.log.append((node.id, out))
        return out

    def wait_output(self, node: Node) -> bool:
        """Run steps that can lead to ``node`` until it has an element; False if none can come."""
        restrict = self.scheduler.restrict_for(node)
        self._new_loop()
        while True:
            try:
                self.network.settle()
                if self._available(node):
                    return True
                if self.faults.maybe(" while the scenario waits for an output"):
                    continue
                cands = self.scheduler.runnable(restrict)
                if not cands:
                    return False
                self.run_unit(self.scheduler.pick(cands))
            except RedundantExecution:
                if self.rewinder is None or not self.rewinder.rewind():
                    raise

    def _alive(self) -> None:
        if self.ended:
            raise InstanceEnded()
        self.interactions += 1
        if self.log is not None:
            self.log.append(self.interactions)

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
        self.network.settle()
        if not self.scheduler.runnable(None):
            self._verify_checks(final=True)
            return
        sites = ", ".join(f"`{c.method}` at {c.site}" for c in self.checks)
        if self.decider.choose(2) == 0:
            self.trace.step(f"checking that nothing more arrives ({sites}); this execution ends after the check")
            self.run_until_quiet()
            self._verify_checks(final=True)
            self.ended = True
            raise InstanceEnded()
        self.trace.step(f"continuing past {sites} without running the pending work (the sibling execution checks it)")
        self.checks = []

    def finish(self) -> None:
        """The scenario returned: absence checks still pending are decided now, and claims of
        eventual consistency are checked once the program has settled (``_consistency``)."""
        if self.log is not None:
            self.log.append("returned")
        if self.checks:
            self.run_until_quiet()
            self._verify_checks(final=True)
        claims = self.plan.claims
        if claims is None:
            claims = self.plan.claims = claimed_consistent(self.plan.graph.nodes)
        if claims:
            self.run_until_quiet()
            check_consistency_claims(self, claims)

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
            sym = self.plan.symmetric
            if sym is not None and node.root.id in sym.cluster_ids:
                self.sym_sends.setdefault(node.root.id, {}).setdefault(member, []).append((node.site, list(values)))
        else:
            target = idxs[0]
        while self.faults.maybe(lambda: f" before the input {show_values(list(values))} reaches {self.locs[target].info.name}"):
            self.network.settle()
        if self.locs[target].dead:
            self.trace.step(f"input {show_values(list(values))} to {self.locs[target].info.name} is lost: it is down")
            return
        if unordered and len(values) > 1 and self._order_sensitive(node):
            values = self.decider.arrival_order(node, values, self.locs[target].info.name)
        self.network.deliver(target, node.id, list(values))
        self.scheduler.wake_all()
        self.network.settle()
        if self.plan.invariants:
            name = self.locs[target].info.name
            check_invariants(self, lambda: f"the input {show_values(list(values))} reached {name}")

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
            last = fired.get(node.id, first_fire(node) - period)
            stamps: list[Any] = []
            while last + period <= self._now:
                last += period
                stamps.append(last)
            fired[node.id] = last
            if stamps:
                self.trace.step(f"time advances to {self._now:g}s")
                self.trace.note(node, f"timer fires at {show_values(stamps)}")
                for target in self.plan.by_loc[node.root.id]:
                    self.network.deliver(target, node.id, list(stamps))
        self.scheduler.wake_all()
        self.network.settle()
        if self.plan.invariants:
            check_invariants(self, f"time advanced to {self._now:g}s")

    @property
    def now(self) -> float:
        """The virtual time: seconds the scenario advanced with ``advance_time``."""
        return self._now

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
        self.scheduler.wake_all()
        if not ok:
            return False, None
        return True, self._pop(node)

    def output_drain(self, node: Node) -> list[Any]:
        self._alive()
        self.run_until_quiet()
        if self.checks:
            self._verify_checks(final=True)
        self.scheduler.wake_all()
        return self._drain(node)

    def output_expect_only(
        self, node: Node, expected: list[Any], unordered: bool, *, method: str = "assert_yields_only", site: Site | None = None
    ) -> list[Any]:
        """Everything from now on is ``expected``: read that many elements with waiting reads,
        then leave a pending absence check (see the module docstring). Returns what was read."""
        self.network.settle()
        if not self.scheduler.runnable(None):
            self.scheduler.wake_all()
            return self._drain(node)
        got: list[Any] = []
        for _ in expected:
            if not self.wait_output(node):
                break
            got.append(self._pop(node))
        self.scheduler.wake_all()
        self.checks.append(_AbsenceCheck(node, list(expected), list(got), unordered, site or caller_site(), method))
        return got
