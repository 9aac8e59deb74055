"""``Sim``: the simulator's front door, made by ``sim(flow)`` (``flow.sim()``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from ..ir.graph import Graph
from ..lang.builder import resolve_cluster_sizes
from ._engines import Progress, Scenario, Stats, exhaustive, fuzz, hypothesis_search, replay, run_once
from ._choices import PrefixChooser
from ._faults import FaultBudget
from ._plan import Plan, build_plan
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
        self._base_fingerprint = self.plan.fingerprint
        self.last: Stats | None = None

    def faults(self, *, crashes: int = 0, locations: Iterable[Any] | None = None) -> Sim:
        """Let every execution crash up to ``crashes`` location instances (default 0: none).

        Crashes and restarts become simulator choices at every scheduling point and before every
        input (docs/simulator.md, "Crashes"): a crash loses the instance's volatile state and
        keeps its durable state (``durable=``); a restart recovers from it; a location that
        called ``forbid_restart`` may crash but never restarts. ``locations`` (tag classes or
        names) limits which locations may crash. Applies to every later search and replay.
        """
        if not isinstance(crashes, int) or crashes < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", f"crashes must be a non-negative int, got {crashes!r}", site=caller_site())
        ids: frozenset[int] | None = None
        if locations is not None:
            wanted = list(locations)
            found = {l.id for l in self.plan.graph.locations if l.tag in wanted or l.name in wanted}
            known = [l.name for l in self.plan.graph.locations if l.kind != "external"]
            unknown = [w for w in wanted if not any(l.tag is w or l.name == w for l in self.plan.graph.locations)]
            if unknown:
                raise UsageError("HL501", f"faults(locations=...) names no location of this program: {unknown!r}; known: {known}", site=caller_site())
            ids = frozenset(found)
        budget = FaultBudget(crashes, ids)
        self.plan.faults = budget
        self.plan.fingerprint = self._base_fingerprint + budget.tag()
        return self

    def _with_crashes(self, crashes: int | None) -> None:
        """A search's ``crashes=``: the budget for it and later calls, keeping ``locations``."""
        if crashes is None:
            return
        allowed = self.plan.faults.locations
        names = None if allowed is None else [l.name for l in self.plan.graph.locations if l.id in allowed]
        self.faults(crashes=crashes, locations=names)

    @property
    def fingerprint(self) -> str:
        """Identifies the program's shape; replay tokens are only valid for the same fingerprint."""
        return self.plan.fingerprint

    def exhaustive(
        self,
        scenario: Scenario,
        *,
        max_executions: int | None = None,
        progress: Progress | None = None,
        crashes: int | None = None,
    ) -> int:
        """Run every execution the nondet sites allow; returns how many ran.

        ``crashes=n`` is ``faults(crashes=n)`` before the search: every crash and restart point
        is explored too.

        Raises ``SimulationFailure`` (an ``AssertionError`` whose message is the trace) at the
        first failing execution, and ``ExplorationLimitError`` if ``max_executions`` is reached.
        """
        self._with_crashes(crashes)
        self.last = Stats("exhaustive", target=max_executions)
        exhaustive(self.plan, scenario, max_executions=max_executions, progress=progress, stats=self.last)
        return self.last.executions

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
    ) -> int:
        """Run ``iterations`` executions with random decisions (reproducible by ``seed``).

        A failure is shrunk to a minimal trace before it is raised. Returns executions run.
        """
        self._with_crashes(crashes)
        self.last = Stats("fuzz", target=iterations)
        fuzz(
            self.plan,
            scenario,
            iterations=iterations,
            seed=seed,
            time_limit=time_limit,
            shrink_failures=shrink,
            progress=progress,
            stats=self.last,
        )
        return self.last.executions + self.last.pruned

    def hypothesis(self, scenario: Scenario, *, max_examples: int = 1_000, seed: int | None = None) -> int:
        """Draw decision sequences from Hypothesis, so a failure is shrunk by Hypothesis."""
        self.last = Stats("hypothesis", target=max_examples)
        hypothesis_search(self.plan, scenario, max_examples=max_examples, seed=seed, stats=self.last)
        return self.last.executions + self.last.pruned

    def replay(self, scenario: Scenario, token: str) -> str:
        """Re-run exactly the execution a failure's token names; returns its trace if it passes
        (it raises the same ``SimulationFailure`` if the bug is still there)."""
        res = replay(self.plan, scenario, token)
        assert res.instance is not None
        return res.instance.trace.render()

    def run(self, scenario: Scenario, decisions: list[int] | None = None) -> str:
        """One execution taking the first option at every choice (or the given answers); returns its trace."""
        res = run_once(self.plan, scenario, PrefixChooser(decisions or []))
        if res.status == "failed":
            from ._engines import failure

            raise failure(self.plan, res, "single run")
        return res.instance.trace.render() if res.instance is not None else ""


def sim(flow: GraphBuilder, cluster_sizes: ClusterSizes | None = None) -> Sim:
    """Build ``flow`` and return a simulator for it (``FlowBuilder.sim`` calls this)."""
    graph = flow.build()
    return Sim(graph, resolve_cluster_sizes(graph, cluster_sizes, fix="Pass cluster_sizes={cluster: n} to flow.sim()."))


