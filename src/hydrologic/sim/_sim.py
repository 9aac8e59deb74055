"""``Sim``: the simulator's front door, made by ``sim(flow)`` (``flow.sim()``)."""

from __future__ import annotations

import math
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterable, overload

from . import _repro
from ._claims import check_claims, claimed_nodes, recording
from ._budget import DEFAULT_BUDGET, PROBE_SECONDS, Budget, Estimate
from ._errors import (
    ExplorationLimitError,
    FalseClaimError,
    InvariantViolation,
    SimulationFailure,
    StaleReproducerError,
    StaleTokenError,
)
from ._invariants import Invariant, World, broken_invariant
from ._rules import SiteRule, resolve_site, rules_tag
from ._script import Session
from ._progress import progress_display

from ..ir.graph import Graph
from ..ir.consistency import fixed_membership
from ..lang.builder import resolve_cluster_sizes
from ._choices import Chooser
from ._instance import SimInstance
from ._engines import Make, Progress, Scenario, Stats, exhaustive, fuzz, hypothesis_search, replay, run_once, shrink
from ._choices import PrefixChooser
from ._faults import FaultBudget
from ._parallel import check_workers
from ._plan import Plan, build_plan
from ._symmetry import RawReads, Symmetry, SymmetryWarning, symmetry_for, watching
from ..ir.node import LocationInfo
from ..lang._access import info_of
from ..lang.location import TopLevel
from ..types.errors import UsageError
from ..types.site import caller_site

if TYPE_CHECKING:
    from ..lang.builder import ClusterSizes, GraphBuilder

__all__ = ["Sim", "sim"]


class Sim:
    """Runs scenarios against every location of one program, exploring its nondet sites.

    A scenario is a plain function that sends with ``SimInput`` ports and asserts with
    ``SimOutput`` ports; it is re-run from scratch for every execution, so it must not depend on
    state left over from an earlier run (collect outcomes into a list from outside if you want to
    look at them afterwards).
    """

    def __init__(self, graph: Graph, cluster_sizes: dict[int, int]) -> None:
        self.plan: Plan = build_plan(graph, cluster_sizes)
        self._spare: dict[int, int] = {}
        self._base_fingerprint = self.plan.fingerprint
        self.graph = graph
        self.sizes = dict(cluster_sizes)
        self.last: Stats | None = None
        # where the program comes from, written into reproducer files (the CLI sets its spec)
        self.program: str | None = None
        # write every failure found by exhaustive/fuzz/hypothesis to ``sim-failures/``
        self.save_failures = True
        # how long an exhaustive search may run (``Budget(seconds, executions)``, None: no limit)
        self.budget: Budget = DEFAULT_BUDGET
        # print the estimate of a long exhaustive search and show its progress (stderr)
        self.show_progress = True
        # receives the estimate instead of printing it (the command line prints it itself)
        self.on_estimate: Callable[[Estimate], None] | None = None
        self._claims_checked = False
        self._pending_claims: dict[tuple[int, int], list[Any]] | None = None

    def faults(
        self, *, crashes: int = 0, locations: Iterable[Any] | None = None, leaves: int = 0, joins: int = 0
    ) -> Sim:
        """Let every execution crash up to ``crashes`` location instances (default 0: none).

        Crashes and restarts become simulator choices at every scheduling point and before every
        input (docs/simulator.md, "Crashes"): a crash loses the instance's volatile state and
        keeps its durable state (``durable=``); a restart recovers from it; a location that
        called ``forbid_restart`` may crash but never restarts. ``locations`` (tag classes or
        names) limits which locations may crash, leave or join. Applies to every later search
        and replay.

        ``leaves`` and ``joins`` budget cluster membership changes (docs/simulator.md,
        "Membership"): up to ``leaves`` cluster members leave for good, and up to ``joins`` new
        members join each cluster, at the same points as crashes.
        """
        for what, n in (("crashes", crashes), ("leaves", leaves), ("joins", joins)):
            if not isinstance(n, int) or n < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
                raise UsageError("HL501", f"{what} must be a non-negative int, got {n!r}", site=caller_site())
        ids: frozenset[int] | None = None
        if locations is not None:
            wanted = list(locations)
            found = {l.id for l in self.plan.graph.locations if l.tag in wanted or l.name in wanted}
            known = [l.name for l in self.plan.graph.locations if l.kind != "external"]
            unknown = [w for w in wanted if not any(l.tag is w or l.name == w for l in self.plan.graph.locations)]
            if unknown:
                raise UsageError("HL501", f"faults(locations=...) names no location of this program: {unknown!r}; known: {known}", site=caller_site())
            ids = frozenset(found)
        budget = FaultBudget(crashes, ids, leaves, joins)
        self._spare_members(budget)
        self.plan.faults = budget
        self._refingerprint()
        return self

    # --- cluster membership

    def _spare_members(self, budget: FaultBudget) -> None:
        """Give each cluster that may gain members ``budget.joins`` spare ids (a new plan when the
        number changes; rules and invariants carry over, both are keyed by graph node)."""
        fixed = fixed_membership(self.graph.nodes)  # broadcast_closed targets never change members
        spare = {
            l.id: budget.joins for l in self.graph.locations if l.is_cluster and budget.allows(l.id) and budget.joins and l.id not in fixed
        }
        if spare == {k: n for k, n in self._spare.items() if n}:
            return
        old = self.plan
        self.plan = build_plan(self.graph, self.sizes, spare)
        self.plan.rules, self.plan.invariants = old.rules, old.invariants
        self._base_fingerprint = self.plan.fingerprint
        self._spare = spare

    def _refingerprint(self) -> None:
        """Replay tokens depend on the fault budget and the scripted rules: both are in the
        fingerprint, so a token replays only under the same ones."""
        self.plan.fingerprint = self._base_fingerprint + self.plan.faults.tag() + rules_tag(self.plan.rules)

    # ---- scripted scenarios (docs/simulator.md, "Scripted scenarios") ---------------------------

    def fix(self, site: Any, pick: Callable[[list[Any]], Any]) -> Sim:
        """Decide every decision at ``site`` with ``pick(options)``, which returns one of the
        options it is given (what a batch would release, a snapshot version, the next element of
        an observation, True/False for delivering a lossy message, a permutation). The site no
        longer branches, so every search explores less.

        ``site`` is the ``nondet`` reason, the ``NonDet`` token, the collection the nondet
        operator returned, or ``"file:line"``; a name that matches no site raises HL501 listing
        the known ones. Applies to every later search, replay and session."""
        return self._rule("fix", site, pick)

    def restrict(self, site: Any, allowed: Callable[[Any], bool]) -> Sim:
        """Explore only the options at ``site`` for which ``allowed(option)`` is true (see ``fix``
        for what an option is and how to name a site)."""
        return self._rule("restrict", site, allowed)

    def unscript(self, site: Any = None) -> Sim:
        """Forget the rules of ``fix``/``restrict`` at ``site`` (all of them if None)."""
        if site is None:
            self.plan.rules.clear()
        else:
            for n in resolve_site(self.plan, site, who="sim.unscript", at=caller_site()):
                self.plan.rules.pop(n.id, None)
        self._refingerprint()
        return self

    def _rule(self, kind: str, site: Any, fn: Callable[..., Any]) -> Sim:
        at = caller_site()
        if not callable(fn):
            raise UsageError("HL501", f"sim.{kind}(site, fn) needs a function, got {fn!r}", site=at)
        rule = SiteRule(kind, fn, site if isinstance(site, str) else repr(site), at)
        for n in resolve_site(self.plan, site, who=f"sim.{kind}", at=at):
            self.plan.rules[n.id] = rule
        self._refingerprint()
        return self

    @overload
    def invariant(self, fn: Callable[[World], object], *, name: str | None = None) -> Callable[[World], object]: ...
    @overload
    def invariant(self, fn: None = None, *, name: str | None = None) -> Callable[[Callable[[World], object]], Callable[[World], object]]: ...
    def invariant(
        self, fn: Callable[[World], object] | None = None, *, name: str | None = None
    ) -> Callable[[World], object] | Callable[[Callable[[World], object]], Callable[[World], object]]:
        """Register ``fn(world)``, checked after every step, every input and every simulated
        crash or restart of every execution (searches, replays, sessions). It fails by raising (``assert``) or returning False; the
        search then raises ``InvariantViolation`` with the step, the decisions that led there and
        the shrunk trace. Usable as a decorator (``@sim.invariant``). Returns ``fn``."""
        site = caller_site()

        def register(f: Callable[[World], object]) -> Callable[[World], object]:
            if not callable(f):
                raise UsageError("HL501", f"sim.invariant needs a function of the world, got {f!r}", site=site)
            label: str = name or str(getattr(f, "__name__", None) or repr(f))
            self.plan.invariants.append(Invariant(f, label, site))
            return f

        return register if fn is None else register(fn)

    def session(self, *, decisions: list[int] | None = None, token: str | None = None) -> Session:
        """One execution driven by the test: ``with sim.session() as s: port.send(x); s.step();
        s.state(loc)``. Decisions take the first allowed option unless ``decisions``/``token``
        give the answers (a failure's token re-runs its execution)."""
        return Session(self.plan, decisions, token)

    def _with_crashes(self, crashes: int | None, leaves: int | None = None, joins: int | None = None) -> None:
        """A search's ``crashes=`` / ``leaves=`` / ``joins=``: the budget for it and later calls,
        keeping ``locations`` and every part not given."""
        if crashes is None and leaves is None and joins is None:
            return
        b = self.plan.faults
        names = None if b.locations is None else [l.name for l in self.plan.graph.locations if l.id in b.locations]
        self.faults(
            crashes=b.crashes if crashes is None else crashes,
            locations=names,
            leaves=b.leaves if leaves is None else leaves,
            joins=b.joins if joins is None else joins,
        )

    @property
    def fingerprint(self) -> str:
        """Identifies the program's shape; replay tokens are only valid for the same fingerprint."""
        return self.plan.fingerprint

    def exhaustive(
        self,
        scenario: Scenario,
        *,
        max_executions: int | None = None,
        max_seconds: float | None = None,
        progress: Progress | None = None,
        crashes: int | None = None,
        leaves: int | None = None,
        joins: int | None = None,
        states: bool = False,
        symmetric: Iterable[Any] = (),
        workers: int = 1,
    ) -> int:
        """Run every execution the nondet sites allow; returns how many ran.

        ``crashes=n`` is ``faults(crashes=n)`` before the search: every crash and restart point
        is explored too; ``leaves=``/``joins=`` likewise budget cluster membership changes.

        ``states=True`` caches explored states: an execution that reaches a global state (every
        instance's operator state, inboxes and in-flight messages, and what the scenario has
        seen) that the search already explored stops there and is counted in
        ``self.last.pruned``, not in the result. Every reachable state, and so every failure, is
        still reached; the search runs far fewer executions when many orders lead to the same
        states (docs/simulator.md, "State caching"). With a fault budget the key covers the
        fault state too (the budgets left, who is down, incarnations).

        ``symmetric=[cluster, ...]`` (clusters, their tag classes or names; implies
        ``states=True``) declares those clusters' members interchangeable: a state is explored
        once for all the states that differ from it only by a renaming of their members, up to
        ``n!`` fewer states for ``n`` members (docs/simulator.md, "Symmetry"). The declaration
        is a claim, like ``commutative`` on a fold: the program treats the members alike and
        names them only by the ``MemberId`` values the runtime gave it (not by raw ids kept as
        ints). The search checks the scenario's side: it must send alike to every member of
        such a cluster between two scheduling decisions, and never read one member's output
        while another's waits too (a ``UsageError`` names the member otherwise).

        ``workers=n`` (n > 1) uses n processes: once the estimate is made, the part of the tree
        not explored yet is split among n forked copies of this process, which hand each other
        work as they run dry (about n times the executions per second on n free cores). The
        search covers the same executions; with ``states=True`` the processes share one table of
        explored states (in shared memory), so each state is still explored once. A search that
        ends within the probe (a fraction of a second) never forks.
        Which failure is reported, when there are several, depends on which worker meets one
        first. Needs the ``fork`` start method (Linux, macOS).

        Raises ``SimulationFailure`` (an ``AssertionError`` whose message is the trace) at the
        first failing execution. The search is bounded by a budget (``self.budget``: 60 s and
        1,000,000 executions unless set; ``max_seconds``/``max_executions`` override it for this
        call, ``math.inf``/``None`` in the budget meaning no limit): beyond it,
        ``ExplorationLimitError`` names the nondet sites that multiply the executions and what to
        do. A search still running after a fraction of a second prints its estimated cost (an
        upper bound) and, after a few seconds, a progress display (``self.show_progress``).
        """
        __tracebackhide__ = True
        check_workers(workers, "sim.exhaustive", caller_site())
        self._with_crashes(crashes, leaves, joins)
        self.plan.symmetric = self._symmetry(symmetric)
        states = states or self.plan.symmetric is not None
        b = self.budget
        execs = b.executions if max_executions is None else max_executions
        secs = b.seconds if max_seconds is None else (None if math.isinf(max_seconds) else max_seconds)
        self.last = Stats("exhaustive", target=execs)
        label = f"exhaustive {_repro.scenario_name(scenario)}"

        def announce(est: Estimate) -> None:
            if self.on_estimate is not None:
                self.on_estimate(est)
            elif not est.exact and self.show_progress:
                print(f"[hydrologic] sim: {label}: {est.render()}", file=sys.stderr, flush=True)

        try:
            with (
                self._saving(scenario),
                progress_display(label, None, progress is None and self.show_progress, after=2.0) as shown,
                watching(self.plan.symmetric) as reads,
                _warn_raw_reads(reads),
            ):
                try:
                    exhaustive(
                        self.plan,
                        scenario,
                        max_executions=execs,
                        max_seconds=secs,
                        progress=progress if progress is not None else shown,
                        stats=self.last,
                        on_estimate=announce,
                        make=self._make(),
                        states=states,
                        workers=workers,
                    )
                except InvariantViolation as e:
                    shrunk = self._shrunk(scenario, e)
                    raise shrunk from shrunk.__cause__
        finally:
            self.plan.symmetric = None  # the declaration holds for this search only
        return self.last.executions

    def _symmetry(self, symmetric: Iterable[Any]) -> Symmetry | None:
        """The ``Symmetry`` for the clusters named by ``symmetric`` (cluster objects, tag classes or names)."""
        wanted = list(symmetric)
        if not wanted:
            return None
        if isinstance(symmetric, (str, bytes)):
            wanted = [symmetric]
        found: list[LocationInfo] = []
        for w in wanted:
            info: LocationInfo | None = None
            if isinstance(w, TopLevel):
                info = info_of(w)
            else:
                info = next((l for l in self.graph.locations if l.tag is w or l.name == w), None)
            if info is None or info not in self.graph.locations:
                known = [str(l) for l in self.graph.locations if l.is_cluster]
                raise UsageError("HL501", f"symmetric= names {w!r}, which is no location of this program; its clusters: {known}", site=caller_site())
            found.append(info)
        if self.plan.faults.joins:
            raise UsageError(
                "HL501",
                "symmetric= with a joins= budget is not supported: a join starts the lowest spare member id, which "
                "singles members out; drop joins= or symmetric=",
                site=caller_site(),
            )
        return symmetry_for(self.graph, self.plan.by_loc, found)

    def _shrunk(self, scenario: Scenario, e: SimulationFailure) -> SimulationFailure:
        """The failure ``e`` found by the DFS, shrunk like a fuzz failure (the DFS's first failing
        execution is the first in its order, not the simplest)."""
        from ._engines import failure

        res = run_once(self.plan, scenario, PrefixChooser(list(e.values)))
        if res.status != "failed":  # pragma: no cover - an execution replays deterministically
            return e
        best = shrink(self.plan, scenario, res)
        n = len(best.chooser.values)
        return failure(self.plan, best, f"{e.how}, shrunk from {e.decisions} to {n} decision(s)" if n < e.decisions else e.how)

    def estimate(self, scenario: Scenario, *, seconds: float = PROBE_SECONDS) -> Estimate:
        """Estimate an exhaustive search's cost by running it for at most ``seconds``: exact if
        it finished, otherwise an upper bound and the nondet sites that dominate it. (The scenario
        runs, as in the search; a failure met on the way is raised.)"""
        st = Stats("exhaustive")
        with self._saving(scenario):
            try:
                exhaustive(self.plan, scenario, max_seconds=seconds, stats=st, probe_seconds=seconds)
            except ExplorationLimitError:
                pass
        assert st.estimate is not None
        return st.estimate

    def fuzz(
        self,
        scenario: Scenario,
        *,
        iterations: int = 10_000,
        seed: int = 0,
        time_limit: float | None = None,
        shrink: bool = True,
        progress: Progress | None = None,
        crashes: int | None = None,
        guided: bool = False,
        leaves: int | None = None,
        joins: int | None = None,
        workers: int = 1,
    ) -> int:
        """Run ``iterations`` executions with random decisions (reproducible by ``seed``).
        ``crashes=``/``leaves=``/``joins=`` set the fault budget as in ``exhaustive``.

        ``guided=True`` steers them by coverage: executions that reached a new feature (a site's
        answer, what it released, a location's state at the end) are kept and mutated. It runs
        as plain random fuzzing while random executions keep finding new coverage, so a shallow
        bug costs it nothing extra; where random needs hundreds of executions or more it needed
        up to about 2x fewer on the seeded bugs (docs/benchmarks.md, "Seeded bugs"). It is not
        the default: each execution costs about 1.4x.

        ``workers=n`` (n > 1) shares the same ``iterations`` executions among n forked
        processes (execution i on worker i mod n), so ``seed`` names the same executions and a
        failure's iteration number is the one a single process would give; which failure is
        reported, when there are several, depends on which worker meets one first. With
        ``guided=True``, n islands instead: each worker runs a guided search of its own (its
        own seed, derived from ``seed``, its own corpus and 1/n of ``iterations``), and the
        failure names the island.

        A failure is shrunk to a minimal trace before it is raised. Returns executions run.
        """
        __tracebackhide__ = True
        check_workers(workers, "sim.fuzz", caller_site())
        self._with_crashes(crashes, leaves, joins)
        self.last = Stats("fuzz", target=iterations)
        with self._saving(scenario):
            fuzz(
                self.plan,
                scenario,
                iterations=iterations,
                seed=seed,
                time_limit=time_limit,
                shrink_failures=shrink,
                progress=progress,
                stats=self.last,
                make=self._make(),
                guided=guided,
                workers=workers,
            )
        return self.last.executions + self.last.pruned

    def hypothesis(self, scenario: Scenario, *, max_examples: int = 1_000, seed: int | None = None) -> int:
        """Draw decision sequences from Hypothesis, so a failure is shrunk by Hypothesis."""
        self.last = Stats("hypothesis", target=max_examples)
        self.check_claims(scenario)
        with self._saving(scenario):
            hypothesis_search(self.plan, scenario, max_examples=max_examples, seed=seed, stats=self.last)
        return self.last.executions + self.last.pruned

    def replay(self, scenario: Scenario, token: str) -> str:
        """Re-run exactly the execution a failure's token names; returns its trace if it passes
        (it raises the same ``SimulationFailure`` if the bug is still there)."""
        res = replay(self.plan, scenario, token)
        assert res.instance is not None
        return res.instance.trace.render()

    def check_claims(self, scenario: Scenario) -> int:
        """Test the program's ``commutative=``/``idempotent=`` claims with Hypothesis on the
        elements ``scenario`` feeds each claimed aggregation (one execution, first options);
        ``FalseClaimError`` (HL610) with the smallest counterexample if one is false. Every search
        does this on its own first execution, once per ``Sim``. Returns how many claims were tested."""
        __tracebackhide__ = True
        nodes = claimed_nodes(self.graph)
        if not nodes or self._claims_checked:
            return 0
        samples: dict[tuple[int, int], list[Any]] = {}
        run_once(self.plan, scenario, PrefixChooser([]), recording(nodes, samples))
        self._claims_checked = True
        return check_claims(self.graph, samples)

    def _make(self) -> Make:
        """The factory of a search's executions: the first one records what claimed aggregations
        are fed, and the claims are tested (Hypothesis) before the second one starts, so the
        test costs no extra execution of the scenario."""
        nodes = claimed_nodes(self.graph)
        if not nodes or self._claims_checked:
            return SimInstance
        samples: dict[tuple[int, int], list[Any]] = {}
        rec = recording(nodes, samples)
        made = [0]

        def make(plan: Plan, chooser: Chooser) -> SimInstance:
            made[0] += 1
            if made[0] == 1:
                return rec(plan, chooser)
            self._finish_claims()
            return SimInstance(plan, chooser)

        self._pending_claims = samples
        return make

    def _finish_claims(self) -> None:
        __tracebackhide__ = True
        samples = self._pending_claims
        if samples is None or self._claims_checked:
            return
        self._pending_claims = None
        self._claims_checked = True
        check_claims(self.graph, samples)

    @contextmanager
    def _saving(self, scenario: Scenario) -> Generator[None]:
        """Write a failure raised inside to a reproducer file (see ``_repro``), then re-raise it."""
        try:
            yield
            self._finish_claims()  # a search of one execution
        except SimulationFailure as e:
            if not isinstance(e, FalseClaimError):
                self._finish_claims()  # a false claim explains a failure better than its trace
            if self.save_failures and e.reproducer is None and not isinstance(e, FalseClaimError):
                _repro.save(e, scenario, self.graph, self.sizes, self.fingerprint, program=self.program)
            raise

    def replay_reproducer(self, scenario: Scenario, reproducer: str | Path | _repro.Reproducer) -> str:
        """Re-run the execution stored in a reproducer file (``sim-failures/*.json``).

        Raises the stored failure again (a ``SimulationFailure`` with the full trace) if the bug is
        still there, and returns the trace if the execution now passes. A file recorded for
        another version of the program or scenario raises ``StaleReproducerError`` naming what
        changed.
        """
        __tracebackhide__ = True
        rep = reproducer if isinstance(reproducer, _repro.Reproducer) else _repro.load(Path(reproducer))
        _repro.check_applies(rep, self.graph, self.sizes, self.fingerprint)
        wanted = broken_invariant(rep.error)
        if wanted is not None and not any(inv.name == wanted for inv in self.plan.invariants):
            raise StaleReproducerError(
                f"reproducer {rep.path} records a failure of the invariant {wanted!r}, which is not registered "
                "here, so replaying it could not show the failure: register it with sim.invariant before "
                "replaying (a reproducer recorded under pytest replays through its test)"
            )
        ch = PrefixChooser(list(rep.decisions), strict=True)
        try:
            res = run_once(self.plan, scenario, ch)
        except StaleTokenError as e:
            raise StaleReproducerError(f"reproducer {rep.path} no longer applies: the scenario {rep.scenario} changed ({e})") from None
        if res.status == "failed":
            from ._engines import failure

            err = failure(self.plan, res, f"replayed from the reproducer {rep.path}")
            err.reproducer = rep.path
            raise err
        if len(ch.values) < len(rep.decisions):
            raise StaleReproducerError(
                f"reproducer {rep.path} no longer applies: the scenario {rep.scenario} now makes {len(ch.values)} "
                f"decision(s) where the file holds {len(rep.decisions)}; delete it or re-run the search"
            )
        return res.instance.trace.render() if res.instance is not None else ""

    def run(self, scenario: Scenario, decisions: list[int] | None = None) -> str:
        """One execution taking the first option at every choice (or the given answers); returns its trace."""
        res = run_once(self.plan, scenario, PrefixChooser(decisions or []))
        if res.status == "failed":
            from ._engines import failure

            raise failure(self.plan, res, "single run")
        return res.instance.trace.render() if res.instance is not None else ""


@contextmanager
def _warn_raw_reads(reads: RawReads) -> Generator[None]:
    """After a symmetric search (failed or not), warn if the program read raw ids of its members."""
    try:
        yield
    finally:
        msg = reads.message()
        if msg is not None:
            warnings.warn(SymmetryWarning(msg), stacklevel=4)


def sim(flow: GraphBuilder, cluster_sizes: ClusterSizes | None = None) -> Sim:
    """Build ``flow`` and return a simulator for it (``FlowBuilder.sim`` calls this)."""
    graph = flow.build()
    return Sim(graph, resolve_cluster_sizes(graph, cluster_sizes, fix="Pass cluster_sizes={cluster: n} to flow.sim()."))


