"""The cost of an exhaustive search: estimated from its first executions, bounded by a budget.

An exhaustive search is a DFS over the tree of decisions (one level per ``choose(n)``). Its cost
is the number of leaves, which is known exactly only once the tree has been enumerated. While it
runs, the search knows:

* the *shape* seen so far: at each depth, the largest number of options any execution met there
  (``TreeShape``); with the current DFS position this bounds what is left: each unexplored sibling
  at depth ``i`` holds at most the product of the largest fan-outs below ``i`` (an upper bound for
  a tree no deeper and no wider than what was seen; a later, deeper branch raises it);
* which nondet site made each decision, sampled on some executions (``SiteChooser``, which looks
  up the call stack for the node deciding), so that a search over its budget can say which sites
  multiply the executions and what to do about them.

The estimate is taken after a short *probe* (the first fraction of a second of the search itself,
so nothing runs twice): when the DFS finished within it the count is exact; otherwise it is the
upper bound above. The budget (time and executions) turns a search that would run for minutes
into ``ExplorationLimitError`` naming the dominant sites.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from ..ir.node import Node
from ._choices import PrefixChooser
from ._trace import describe_site

__all__ = [
    "Budget",
    "CacheProgress",
    "DEFAULT_BUDGET",
    "Estimate",
    "SiteCost",
    "SiteStats",
    "SiteChooser",
    "TreeShape",
    "over_budget_message",
]


@dataclass(frozen=True)
class Budget:
    """How long an exhaustive search may run: ``seconds`` of wall time and ``executions``
    (``None``: no limit of that kind)."""

    seconds: float | None = 60.0
    executions: int | None = 1_000_000


DEFAULT_BUDGET = Budget()
PROBE_SECONDS = 0.2


@dataclass
class SiteCost:
    """One nondet site's share of the search: ``bits`` is the average log2 of the options it
    offered per execution (the site multiplies the executions by about ``2 ** bits``)."""

    label: str
    decisions: float  # average decisions per execution
    bits: float
    max_options: int
    node: Node | None = None

    def render(self) -> str:
        factor = f"2^{self.bits:.1f}" if self.bits >= 10 else f"{2 ** self.bits:,.0f}"
        return (
            f"{self.label}: about x{factor} ({self.decisions:.1f} decision(s) per execution, "
            f"up to {self.max_options} options each)"
        )


@dataclass
class Estimate:
    """How many executions an exhaustive search runs: ``exact`` once the tree was enumerated,
    otherwise an upper bound (of a tree shaped like the part seen so far)."""

    executions: int  # exact, or the upper bound
    exact: bool
    seen: int  # executions the estimate is based on
    seconds: float  # how long they took
    sites: list[SiteCost] = field(default_factory=lambda: [])
    likely: int = 0  # a rough expectation (Knuth's estimator along the DFS path), below the bound

    def render(self) -> str:
        if self.exact:
            head = f"exactly {self.executions:,} execution(s) (the whole decision tree was enumerated)"
        else:
            head = (
                f"about {_big(self.likely)} executions, at most {_big(self.executions)} (estimated from the "
                f"{self.seen:,} executions run in {self.seconds:.2f}s; the bound holds for a decision tree no deeper "
                "than the part seen)"
            )
        if not self.sites:
            return head
        return head + "; dominant nondet sites:\n" + "\n".join(f"  {i + 1}. {s.render()}" for i, s in enumerate(self.sites[:3]))


def _duration(s: float) -> str:
    if s < 120:
        return f"{s:.0f}s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 3 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:,.0f} days"


def _big(n: int) -> str:
    return f"{n:,}" if n < 10**9 else f"{n:.3e}".replace("e+", "e")


def explored_fraction(values: list[int], ranges: list[int]) -> float:
    """The part of the decision tree a DFS has covered once it ran the execution answering
    ``values``, if sibling subtrees were all the same size (Knuth's estimator along the DFS path:
    each answer ``v`` of ``r`` options means ``v`` of the ``r`` subtrees there are done)."""
    frac = 0.0
    weight = 1.0
    for v, r in zip(values, ranges):
        w = weight / r
        frac += v * w
        weight = w
    return frac + weight


class TreeShape:
    """The largest number of options met at each depth of the decision tree."""

    __slots__ = ("maxr",)

    def __init__(self) -> None:
        self.maxr: list[int] = []

    def observe(self, ranges: list[int]) -> None:
        m = self.maxr
        n = len(m)
        for i, r in enumerate(ranges):
            if i >= n:
                m.append(r)
                n += 1
            elif r > m[i]:
                m[i] = r

    def remaining(self, values: list[int], ranges: list[int]) -> int:
        """An upper bound of the executions a DFS still runs after the one that answered
        ``values`` to questions with ``ranges`` options."""
        m = self.maxr
        below = [1] * (len(m) + 1)
        for i in range(len(m) - 1, -1, -1):
            below[i] = below[i + 1] * m[i]
        total = 0
        for i in range(len(values)):
            left = ranges[i] - values[i] - 1
            if left > 0:
                total += left * below[min(i + 1, len(m))]
        return total


# ---- which site made a decision ----------------------------------------------------------------

SiteKey = Any


# the functions that ask a nondet site's question, and the local that names the site; the
# frames between ``choose`` and them (``permute``, ``choose_subset``, ...) are skipped unread
_ASKERS: dict[str, str] = {
    "decide_batch": "node",
    "decide_snapshot": "node",
    "arrival_order": "node",
    "lossy": "net",
    "observe": "obs",
    "decide": "self",
    "run": "self",
}


def _node_in(frame: FrameType, name: str) -> Node | None:
    v = frame.f_locals.get(name)
    if isinstance(v, Node):
        return v
    n = getattr(v, "node", None)
    return n if isinstance(n, Node) else None


def _site_of(frame: FrameType | None) -> tuple[SiteKey, str, Node | None]:
    """Find, up the stack from a ``choose`` call, the nondet site that is deciding."""
    start = frame
    depth = 0
    while frame is not None and depth < 12:
        name = frame.f_code.co_name
        local = _ASKERS.get(name)
        if local is not None:
            n = _node_in(frame, local)
            if n is not None:
                return n.id, "", n
        elif name == "pick":
            return "scheduler", "the scheduler: which runnable tick or observation runs next", None
        elif name == "_resolve_checks_before_send":
            return "absence", "an absence check (`assert_yields_only`/`assert_no_more`) before the next send: check now or later", None
        frame = frame.f_back
        depth += 1
    # an asker not in the table (the simulator changed): look for a node among the locals
    frame, depth = start, 0
    while frame is not None and depth < 12:
        for local in ("node", "net", "obs", "self"):
            n = _node_in(frame, local)
            if n is not None:
                return n.id, "", n
        frame = frame.f_back
        depth += 1
    return "other", "other decisions", None


class SiteStats:
    """Per nondet site: decisions made, log2 of the options offered, over the sampled executions."""

    def __init__(self) -> None:
        self.executions = 0
        self.sites: dict[SiteKey, list[Any]] = {}  # key -> [label, node, decisions, bits, max options]

    def record(self, frame: FrameType | None, n: int) -> None:
        key, label, node = _site_of(frame)
        s = self.sites.get(key)
        if s is None:
            s = self.sites[key] = [describe_site(node) if node is not None else label, node, 0, 0.0, 0]
        s[2] += 1
        s[3] += math.log2(n)
        if n > s[4]:
            s[4] = n

    def costs(self) -> list[SiteCost]:
        k = max(self.executions, 1)
        out = [SiteCost(s[0], s[2] / k, s[3] / k, s[4], s[1]) for s in self.sites.values()]
        return sorted(out, key=lambda c: -c.bits)


class SiteChooser(PrefixChooser):
    """A ``PrefixChooser`` that also notes which site asked each question (sampled executions)."""

    def __init__(self, prefix: list[int], stats: SiteStats) -> None:
        super().__init__(prefix, prunes=True)
        self._stats = stats
        stats.executions += 1

    def choose(self, n: int) -> int:
        self._stats.record(sys._getframe(1), n)  # pyright: ignore[reportPrivateUsage]
        return super().choose(n)


def reduction_hints(states: bool, symmetric: bool, clusters: list[str]) -> list[str]:
    """What the over-budget message suggests of the reductions a search did not use: the state
    cache, and the symmetry of ``clusters`` (names of clusters with two or more members)."""
    out: list[str] = []
    if not states:
        out.append(
            "  * cache explored states, so that orders that reach the same state are explored once: "
            "sim.exhaustive(scenario, states=True) (hydrologic sim --states)"
        )
    if clusters and not symmetric:
        names = ", ".join(clusters)
        flags = " ".join(f"--symmetric {c.split('[', 1)[-1].rstrip(']')}" for c in clusters)
        out.append(
            f"  * if the members of {names} run the same code and the scenario treats them alike, say so: "
            f"sim.exhaustive(scenario, symmetric=[...]) (hydrologic sim {flags}); a state is then explored once for all its "
            "renamings of members"
        )
    return out


@dataclass
class CacheProgress:
    """What a search with the state cache had done when it stopped: its runs (executions and
    those stopped at a known state), the distinct states, and how many it had found at a few
    moments (``StateTable.growth``: seconds since the start, distinct states)."""

    runs: int
    pruned: int
    distinct: int
    growth: list[tuple[float, int]]

    def lines(self, seconds: float, workers: int) -> list[str]:
        """Why the decision tree's size overstates this search, and whether it was converging."""
        share = self.pruned / self.runs if self.runs else 0.0
        out = [
            "With the state cache the decision tree's size is not what this search runs: an execution stops "
            f"at the first state already explored (here {share:.0%} of {self.runs:,} runs stopped at one of "
            f"{self.distinct:,} distinct states), so it runs far fewer."
        ]
        half = seconds / 2
        early = max((d for t, d in self.growth if t <= half), default=0)
        if self.growth and early > 0 and seconds >= 2:
            late = self.distinct - early
            trend = "still growing as fast" if late >= early else "growing more slowly" if late > early / 4 else "levelling off"
            out.append(
                f"Distinct states found: {early:,} in the first half of the {seconds:.0f}s, {late:,} in the second "
                f"({trend}); the search ends when no new state is left to find."
            )
        if workers <= 1:
            out.append(
                "  * use both cores: sim.exhaustive(scenario, ..., workers=2) (hydrologic sim --workers 2) shares "
                "one table of states between the processes"
            )
        return out


def over_budget_message(
    why: str,
    done: int,
    seconds: float,
    estimate: Estimate | None,
    sites: list[SiteCost],
    *,
    rate: float | None = None,
    reductions: list[str] | None = None,
    cache: CacheProgress | None = None,
    workers: int = 1,
) -> str:
    """The message of a search stopped by its budget (``rate`` given: stopped early because the
    estimate at that rate is far over the budget). ``reductions``: lines suggesting the
    reductions the search did not use (``reduction_hints``). ``cache``: the state cache's
    progress, when the search had one (its decision tree then overstates it by far: the Paxos
    leader change with three acceptors has about 10^10 executions in its tree and finishes after
    316,000 runs)."""
    if rate is not None and estimate is not None:
        lines = [
            f"exhaustive search stopped after {done:,} executions ({seconds:.1f}s): it would run about "
            f"{_big(estimate.likely)} executions (at most {_big(estimate.executions)}), about "
            f"{_duration(estimate.likely / max(rate, 1e-9))} at {rate:,.0f}/s, far over its budget ({why})"
        ]
    else:
        lines = [f"exhaustive search stopped at its budget ({why}) after {done:,} executions in {seconds:.1f}s without covering every one"]
        if estimate is not None and not estimate.exact:
            if cache is None:
                lines[0] += f"; the whole search would take about {_big(estimate.likely)} (at most {_big(estimate.executions)})"
            else:
                lines[0] += f"; its decision tree holds about {_big(estimate.likely)} executions (at most {_big(estimate.executions)})"
    cache_lines = cache.lines(seconds, workers) if cache is not None else []
    lines += [ln for ln in cache_lines if not ln.startswith("  *")]
    if sites:
        lines.append("The nondet sites that multiply the executions most (per execution, sampled):")
        lines += [f"  {i + 1}. {s.render()}" for i, s in enumerate(sites[:3])]
    top = next((s for s in sites if s.node is not None), None)
    lines.append("What to do:")
    lines.append("  * search at random instead: sim.fuzz(scenario, iterations=100_000) (hydrologic sim --mode fuzz), shrunk on failure")
    lines.append("  * make the scenario smaller: fewer inputs per send, fewer cluster members, fewer timer steps")
    if top is not None:
        lines.append(
            f"  * give {top.label.split(', nondet')[0]} fewer options: wait for outputs (`next()`) between sends, "
            "so that less is pending when it decides"
        )
    lines += reductions or []
    lines += [ln for ln in cache_lines if ln.startswith("  *")]
    lines.append(
        "  * or raise the budget: sim.exhaustive(scenario, max_seconds=..., max_executions=...), "
        "@pytest.mark.hl_sim_budget(seconds=..., executions=...), or hydrologic sim --max-seconds/--max-executions"
    )
    return "\n".join(lines)
