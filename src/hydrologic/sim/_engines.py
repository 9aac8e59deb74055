"""Exploration engines: run a scenario many times over different decision sequences.

* ``exhaustive``: stateless DFS. Each execution replays a prefix of answers and answers 0 after
  it; the next prefix bumps the last answer that still has options (an odometer over the decision
  tree), so every distinct decision sequence runs exactly once, from scratch.
* ``fuzz``: seeded random answers; a failure is shrunk (shorter, then smaller answer lists)
  before it is reported, so the trace is as short as the bug allows. ``guided=True`` hands the
  search to ``_guided`` (coverage-guided: mutate executions that reached new behaviour).
* ``hypothesis``: answers drawn from Hypothesis, which shrinks failures its own way.
* ``replay``: one execution from a token.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, NoReturn

from ..lang.io import reset_driver, set_driver
from ..types.site import is_internal
from ._budget import (
    PROBE_SECONDS,
    CacheProgress,
    Estimate,
    SiteChooser,
    SiteStats,
    TreeShape,
    explored_fraction,
    over_budget_message,
    reduction_hints,
)
from ._choices import Chooser, DrawChooser, PrefixChooser, RandomChooser, UniformChooser, decode_token, encode_token
from ._errors import (
    ExplorationLimitError,
    FalseClaimError,
    InstanceEnded,
    InvariantViolation,
    RedundantExecution,
    SimulationFailure,
    StaleTokenError,
)
from ._invariants import InvariantBroken, decisions_report, invariant_tail
from ._rules import ScriptError
from ._reuse import Recycler
from . import _rewind
from ._rewind import Rewinder
from ._scheduler import Unit
from ._heap import with_frozen_heap
from ._instance import SimInstance
from ._plan import Plan
from ._parallel import WorkerFailure, exhaust_in_workers, fuzz_in_workers, subtrees
from ._shared_states import SharedStates, unit_bits
from ._states import StateTable
from ..types.errors import HydroRuntimeError
from ._symmetry import SymmetryError

__all__ = ["Stats", "RunResult", "run_once", "exhaustive", "fuzz", "hypothesis_search", "replay"]

Scenario = Callable[[], object]
Progress = Callable[["Stats"], None]


@dataclass
class Stats:
    """What the last search did; ``executions`` counts complete executions (not pruned ones)."""

    mode: str
    executions: int = 0
    pruned: int = 0
    decisions: int = 0
    seconds: float = 0.0
    complete: bool = False
    target: int | None = None
    started: float = field(default_factory=time.perf_counter)
    estimate: Estimate | None = None  # exhaustive: the cost estimated after the probe
    states: StateTable | None = None  # exhaustive with state caching: the states explored

    @property
    def per_second(self) -> float:
        return (self.executions + self.pruned) / self.seconds if self.seconds > 0 else 0.0


@dataclass
class RunResult:
    status: str  # "ok" | "pruned" | "failed"
    chooser: Chooser
    instance: SimInstance | None
    error: BaseException | None = None


Make = Callable[[Plan, Chooser], SimInstance]


def run_once(plan: Plan, scenario: Scenario, chooser: Chooser, make: Make = SimInstance) -> RunResult:
    inst: SimInstance | None = None
    token: Any = None
    try:
        inst = make(plan, chooser)
        token = set_driver(inst)
        scenario()
        inst.finish()
        inst.spent = True
        return RunResult("ok", chooser, inst)
    except InstanceEnded:
        if inst is not None:
            inst.spent = True
        return RunResult("ok", chooser, inst)
    except RedundantExecution:
        if inst is not None:
            inst.spent = True
        return RunResult("pruned", chooser, inst)
    except (StaleTokenError, FalseClaimError, ScriptError, SymmetryError):
        raise
    except Exception as e:
        return RunResult("failed", chooser, inst, e)
    finally:
        if token is not None:
            reset_driver(token)


def _user_frame(e: BaseException) -> str:
    frames = traceback.extract_tb(e.__traceback__)
    for fr in reversed(frames):
        if not is_internal(fr.filename):
            return f"{fr.filename}:{fr.lineno} (in {fr.name})"
    return "<unknown>"


def failure(plan: Plan, res: RunResult, how: str) -> SimulationFailure:
    assert res.error is not None
    e = res.error
    values = list(res.chooser.values)
    token = encode_token(_strip(values), plan.fingerprint)
    trace = res.instance.trace.render() if res.instance is not None else "  (the program failed while starting)"
    err_line = f"{'InvariantViolation' if isinstance(e, InvariantBroken) else type(e).__name__}: {e}"
    then = f"  then the scenario failed at {_user_frame(e)}:\n       {err_line}\n"
    log = decisions_report(res.instance.trace) if isinstance(e, InvariantBroken) and res.instance is not None else []
    if isinstance(e, InvariantBroken):  # a global invariant: say after which step, and what led there
        then = invariant_tail(e, log)
    msg = (
        f"{err_line}\n\n"
        f"The simulator found a failing execution ({how}). Its trace, {len(values)} decision(s):\n"
        f"{trace}\n"
        f"{then}\n"
        f"Replay exactly this execution with: sim.replay(scenario, {token!r})"
    )
    kw: dict[str, Any] = dict(token=token, original=e, decisions=len(values), values=_strip(values), how=how)
    if isinstance(e, InvariantBroken):
        err: SimulationFailure = InvariantViolation(msg, invariant=e.invariant.name, step=e.step, decision_log=log, **kw)
    else:
        err = SimulationFailure(msg, **kw)
    err.__cause__ = e
    return err


def _tick(stats: Stats, res: RunResult, progress: Progress | None, last: list[float]) -> None:
    if res.status == "pruned":
        stats.pruned += 1
    else:
        stats.executions += 1
    ch = res.chooser
    stats.decisions += len(ch.values)
    if isinstance(ch, PrefixChooser) and ch.rewinds:  # pruned executions that went back (``_rewind``)
        stats.pruned += ch.rewinds
        stats.decisions += ch.rewound_decisions
    if progress is not None:
        now = time.perf_counter()
        if now - last[0] > 0.1:
            last[0] = now
            stats.seconds = now - stats.started
            progress(stats)


def _next_prefix(values: list[int], ranges: list[int]) -> list[int] | None:
    i = len(values) - 1
    while i >= 0 and values[i] + 1 >= ranges[i]:
        i -= 1
    if i < 0:
        return None
    return values[:i] + [values[i] + 1]


@with_frozen_heap
def exhaustive(
    plan: Plan,
    scenario: Scenario,
    *,
    max_executions: int | None = None,
    max_seconds: float | None = None,
    progress: Progress | None = None,
    stats: Stats | None = None,
    make: Make = SimInstance,
    on_estimate: Callable[[Estimate], None] | None = None,
    probe_seconds: float = PROBE_SECONDS,
    states: bool = False,
    workers: int = 1,
) -> Stats:
    """DFS over every decision sequence. After ``probe_seconds`` (or at the end, if sooner) the
    search's cost is estimated (``stats.estimate``, passed to ``on_estimate``): exact if the DFS
    already finished, an upper bound otherwise. ``max_executions``/``max_seconds`` stop it with an
    ``ExplorationLimitError`` naming the nondet sites that multiply the executions most.

    ``states=True`` prunes every execution that reaches a global state the search already
    explored (``_states``; with a fault budget too: the key covers the fault state).

    ``workers > 1``: after the probe, what is left of the tree is explored by that many forked
    processes (``_parallel``); a search that ends during the probe never forks."""
    __tracebackhide__ = True
    stats = stats or Stats("exhaustive", target=max_executions)
    made = Recycler(make)  # one instance's objects, put back in place for each execution (``_reuse``)
    dfs_make: Make = made
    table: StateTable | None = None
    if states:
        table = stats.states = StateTable(plan.symmetric)
        dfs_make = functools.partial(_caching, made, table, _rewind.Carry())
    last = [0.0]
    shape = TreeShape()
    sites = SiteStats()
    started = stats.started
    probing = True
    refresh_at = 0.0
    walked = 0
    prefix: list[int] = []
    excluded: dict[int, frozenset[int]] = {}
    n = 0
    while True:
        # which site asks each question is sampled: the first executions, then one in 256
        ch: PrefixChooser
        if n < 16 or not n & 255:
            ch = SiteChooser(prefix, sites)
        else:
            ch = PrefixChooser(prefix, prunes=True)
            ch.advance = _next_prefix  # a pruned execution may go back to a recorded state (``_rewind``)
        ch.excluded = excluded
        n += 1
        res = run_once(plan, scenario, ch, dfs_make)
        _tick(stats, res, progress, last)
        if res.status == "failed":
            stats.seconds = time.perf_counter() - started
            raise failure(plan, res, f"exhaustive search, execution {stats.executions + stats.pruned}")
        shape.observe(ch.ranges)
        nxt = _next_prefix(ch.values, ch.ranges)
        if nxt is None:
            break
        prefix = nxt
        excluded = ch.keep_excluded(len(nxt) - 1)
        now = time.perf_counter()
        if table is not None:
            table.sample(now - started)
        if probing and now - started >= probe_seconds:
            probing = False
            likely = _random_walks(plan, scenario, made, shape, stats, seconds=min(0.05, probe_seconds / 4))
            now = time.perf_counter()
            stats.estimate = est = _estimate(n, shape, ch, now - started, sites, likely)
            walked = est.likely
            stats.target = est.likely
            # far over the budget at the measured rate: say so now rather than after the budget
            rate = n / max(est.seconds, 1e-9)
            over: list[str] = []
            if max_seconds is not None and n >= 32 and est.likely / rate > 10 * max_seconds:
                over.append(f"max_seconds={max_seconds:g}")
            if max_executions is not None and est.likely > 10 * max_executions:
                over.append(f"max_executions={max_executions:,}")
            why = ", ".join(over)
            if why and table is None:  # with state caching the tree's size says little about the search's
                stats.seconds = now - started
                raise ExplorationLimitError(
                    over_budget_message(
                        why, stats.executions + stats.pruned, stats.seconds, est, est.sites, rate=rate,
                        reductions=_hints(plan, states),
                    )
                )
            if on_estimate is not None:
                on_estimate(dataclasses.replace(est))  # a copy: the search refines ``est`` as it goes
            if workers > 1:
                n = _exhaust_in_workers(
                    plan, scenario, make, dfs_make, table, subtrees(ch.values, ch.ranges), workers, stats, progress,
                    last, max_executions, max_seconds, states,
                )
                break
        elif not probing and now >= refresh_at and stats.estimate is not None:
            refresh_at = now + 0.1
            cur = stats.estimate
            cur.executions = n + shape.remaining(ch.values, ch.ranges)  # the bound tightens as the DFS advances
            likely = max(walked, n + 1)
            if n >= walked // 2:  # the walks were too few for this tree: the DFS's own progress tells more
                frac = explored_fraction(ch.values, ch.ranges)
                likely = max(likely, int(n / frac) if frac > 0 else 0)
            cur.likely = min(likely, cur.executions)
            stats.target = cur.likely
        why = ""
        if max_executions is not None and stats.executions >= max_executions:
            why = f"max_executions={max_executions:,}"
        elif max_seconds is not None and now - started > max_seconds:
            why = f"max_seconds={max_seconds:g}"
        if why:
            stats.seconds = now - started
            est = _estimate(n, shape, ch, stats.seconds, sites, stats.estimate.likely if stats.estimate else None)
            stats.estimate = est
            raise ExplorationLimitError(
                over_budget_message(
                    why, stats.executions + stats.pruned, stats.seconds, est, est.sites, reductions=_hints(plan, states),
                    cache=_cache_progress(table, stats), workers=workers,
                )
            )
    stats.complete = True
    stats.seconds = time.perf_counter() - started
    stats.estimate = Estimate(n, True, n, stats.seconds, sites.costs(), n)  # enumerated: now it is exact
    if probing and on_estimate is not None:
        on_estimate(stats.estimate)
    if progress is not None:
        progress(stats)
    return stats


def _exhaust_in_workers(
    plan: Plan,
    scenario: Scenario,
    make: Make,
    dfs_make: Make,
    table: StateTable | None,
    tasks: list[list[int]],
    workers: int,
    stats: Stats,
    progress: Progress | None,
    last: list[float],
    max_executions: int | None,
    max_seconds: float | None,
    states: bool,
) -> int:
    """The rest of an exhaustive search, ``tasks`` (subtrees), on ``workers`` processes;
    returns the executions run in all. Budgets, progress and failures as in one process."""
    __tracebackhide__ = True

    def run(ch: PrefixChooser) -> RunResult:
        return run_once(plan, scenario, ch, dfs_make)

    def account(executions: int, pruned: int, decisions: int, hits: int) -> None:
        _add_counts(stats, executions, pruned, decisions)
        if table is not None:
            table.hits += hits

    def check() -> None:
        _show_progress(stats, progress, last)
        why = ""
        if max_executions is not None and stats.executions >= max_executions:
            why = f"max_executions={max_executions:,}"
        elif max_seconds is not None and stats.seconds > max_seconds:
            why = f"max_seconds={max_seconds:g}"
        if table is not None:
            table.sample(stats.seconds)
        if why:
            est = stats.estimate
            assert est is not None  # the probe made it before the hand-off
            raise ExplorationLimitError(
                over_budget_message(
                    why, stats.executions + stats.pruned, stats.seconds, est, est.sites, reductions=_hints(plan, states),
                    cache=_cache_progress(table, stats), workers=workers,
                )
            )

    if table is not None:  # one table for every process, so that none explores a state another did
        table.share(SharedStates(unit_bits(plan)))
    try:
        exhaust_in_workers(run, table, tasks, workers, account, check)
    except WorkerFailure as w:
        stats.seconds = time.perf_counter() - stats.started
        _raise_from_worker(plan, scenario, make, states, w, f"exhaustive search, execution {stats.executions + stats.pruned} (in one of {workers} worker processes)")
    return stats.executions + stats.pruned


def _add_counts(stats: Stats, executions: int, pruned: int, decisions: int) -> None:
    """Counts reported by worker processes."""
    stats.executions += executions
    stats.pruned += pruned
    stats.decisions += decisions


def _show_progress(stats: Stats, progress: Progress | None, last: list[float]) -> None:
    """A parallel search's clock and progress display (at most every 0.1 s), from this process."""
    now = time.perf_counter()
    stats.seconds = now - stats.started
    if progress is not None and now - last[0] > 0.1:
        last[0] = now
        progress(stats)


def _raise_from_worker(plan: Plan, scenario: Scenario, make: Make, states: bool, w: WorkerFailure, how: str) -> NoReturn:
    """Run a worker's failing execution again here and raise what it raises (a
    ``SimulationFailure`` with its trace, or the search's own error)."""
    __tracebackhide__ = True
    if w.values is not None:
        # a fresh table: nothing is pruned, and the checks made on the way (symmetry) run again
        again = functools.partial(_caching, make, StateTable(plan.symmetric), _rewind.Carry()) if states else make
        res = run_once(plan, scenario, PrefixChooser(w.values, prunes=states), again)
        if res.status == "failed":
            raise failure(plan, res, how)
    if w.values is None:
        raise HydroRuntimeError(f"the parallel search stopped: {w.crash}")
    raise HydroRuntimeError(
        "a worker process of the parallel search failed, and the execution it was running does not fail when "
        f"run again in this process (the program or the scenario is not deterministic?): {w.crash or w}"
    )


def _cache_progress(table: StateTable | None, stats: Stats) -> CacheProgress | None:
    if table is None:
        return None
    return CacheProgress(stats.executions + stats.pruned, stats.pruned, table.distinct, list(table.growth))


def _hints(plan: Plan, states: bool) -> list[str]:
    clusters = [str(l) for l in plan.graph.locations if l.is_cluster and len(plan.by_loc.get(l.id, ())) > 1]
    return reduction_hints(states, plan.symmetric is not None, clusters)


def _caching(make: Make, table: StateTable, carry: _rewind.Carry, plan: Plan, chooser: Chooser) -> SimInstance:
    """An execution of the DFS whose scheduler consults ``table`` before each pick (the random
    walks of the estimate use the plain ``make``: they do not explore what they visit).

    If the chooser says how the DFS goes on (``PrefixChooser.advance``), each new state is
    recorded, and an execution pruned later in the same driver call goes back to one of them
    for the DFS's next execution instead of ending (``_rewind``); an execution that starts over
    goes forward to one an earlier execution recorded (``_rewind.Carry``)."""
    assert isinstance(chooser, PrefixChooser)  # the DFS's choosers replay a prefix
    inst = make(plan, chooser)
    visit = table.hook(inst, chooser)
    advance = chooser.advance
    wiring = make.wiring if isinstance(make, Recycler) else None
    if advance is None or not _rewind.REWIND or wiring is None or plan.faults.any or type(inst) is not SimInstance:
        carry.last = None
        inst.scheduler.visited = visit
        return inst
    values, ch = chooser.values, chooser

    def visited(sleep: set[Unit], fault_point: bool = False) -> bool:
        if rw.carried and len(values) < len(ch.prefix):  # replaying: a recorded state ahead?
            rw.jump()
        if visit(sleep, fault_point):
            return True
        # a node new to the search: its siblings come next, if the pick has any (``branching``)
        rw.fresh = len(values) >= len(ch.prefix)
        return False

    carried = carry.take(inst, chooser)
    rw = inst.rewinder = Rewinder(inst, chooser, wiring, advance, skip=(visit, table, visited), carried=carried)
    rw.visited = visited
    carry.last = rw
    inst.scheduler.visited = visited
    inst.scheduler.branching = rw.branching
    return inst


def _estimate(n: int, shape: TreeShape, ch: Chooser, seconds: float, sites: SiteStats, likely: int | None) -> Estimate:
    bound = n + shape.remaining(ch.values, ch.ranges)
    if likely is None:
        frac = explored_fraction(ch.values, ch.ranges)
        likely = int(n / frac) if frac > 0 else bound
    return Estimate(bound, False, n, seconds, sites.costs(), min(bound, max(n + 1, likely)))


# The estimate's random walks, at least: their products are heavy-tailed (a batch over 12
# inputs, 2,048 executions: the mean of the first 8 walks is 63, of 32 is 604, of 64 is 1,073).
MIN_WALKS = 32


def _random_walks(plan: Plan, scenario: Scenario, make: Make, shape: TreeShape, stats: Stats, *, seconds: float) -> int | None:
    """Knuth's estimator: the product of the option counts along a uniformly random execution is
    an unbiased estimate of the number of executions; the mean over a few walks is the estimate.
    The walks run the scenario like the search does (a failure met is reported like one the
    search found) and are not counted as executions of the search."""
    rng = random.Random(0x5EED)
    products: list[int] = []
    deadline = time.perf_counter() + seconds
    while len(products) < MIN_WALKS or (len(products) < 64 and time.perf_counter() < deadline):
        ch = UniformChooser(rng)
        res = run_once(plan, scenario, ch, make)
        if res.status == "failed":
            stats.seconds = time.perf_counter() - stats.started
            raise failure(plan, res, "exhaustive search, a random execution run to estimate its size")
        shape.observe(ch.ranges)
        p = 1
        for r in ch.ranges:
            p *= r
        products.append(p)
    return sum(products) // len(products) if products else None


def _strip(values: list[int]) -> list[int]:
    """Trailing first-option answers are implied (replay answers 0 past the end)."""
    n = len(values)
    while n and values[n - 1] == 0:
        n -= 1
    return values[:n]


def _signature(e: BaseException) -> tuple[str, str]:
    if isinstance(e, InvariantBroken):  # the same invariant, wherever the scenario was
        return "InvariantBroken", e.invariant.name
    return type(e).__name__, _user_frame(e)


def _size(r: RunResult) -> tuple[int, int, list[int]]:
    """Smaller is simpler: fewer steps in the trace, then fewer and smaller answers."""
    vals = _strip(r.chooser.values)
    steps = r.instance.steps_run if r.instance is not None else 0
    return steps, len(vals), vals


def shrink(plan: Plan, scenario: Scenario, res: RunResult, *, budget: int = 2_000, seconds: float = 10.0) -> RunResult:
    """Make a failing execution simpler while it still fails the same way (same exception type
    at the same line): fewer steps first, then a shortlex-smaller answer list.

    Passes, repeated until none helps: cut the tail (later answers default to the first option),
    take the largest option at one position and cut after it (release everything at once), zero
    or delete single answers, merge neighbouring releases, and binary-search each answer down.
    """
    assert res.error is not None
    want = _signature(res.error)
    best = res
    deadline = time.perf_counter() + seconds
    tries = 0
    made = Recycler()  # a failing attempt's instance is kept (``best`` may be it), never reused

    def attempt(cand: list[int]) -> bool:
        nonlocal best, tries
        if tries >= budget or time.perf_counter() > deadline:
            return False
        tries += 1
        r = run_once(plan, scenario, PrefixChooser(cand), made)
        if r.status != "failed" or r.error is None or _signature(r.error) != want:
            return False
        if _size(r) < _size(best):
            best = r
            return True
        return False

    improved = True
    while improved and tries < budget and time.perf_counter() < deadline:
        improved = False
        vals = _strip(best.chooser.values)
        for keep in range(0, len(vals)):
            if attempt(vals[:keep]):
                improved = True
                break
        vals = _strip(best.chooser.values)
        ranges = list(best.chooser.ranges)
        for i in range(len(ranges)):
            if i < len(vals) and i < len(ranges) and vals[i] != ranges[i] - 1:
                if attempt(vals[:i] + [ranges[i] - 1]):
                    improved = True
                    vals = _strip(best.chooser.values)
                    ranges = list(best.chooser.ranges)
        vals = _strip(best.chooser.values)
        for i in range(len(vals) - 1, -1, -1):
            if i < len(vals) and vals[i] and attempt(vals[:i] + [0] + vals[i + 1 :]):
                improved = True
                vals = _strip(best.chooser.values)
        vals = _strip(best.chooser.values)
        for i in range(len(vals) - 1, -1, -1):
            if i < len(vals) and attempt(vals[:i] + vals[i + 1 :]):
                improved = True
                vals = _strip(best.chooser.values)
        # merge neighbours: two releases of n and m items become one of n + m (the answer for a
        # count is the count minus its lower bound, hence the two variants)
        i = 0
        while i + 1 < len(vals):
            a, b = vals[i], vals[i + 1]
            if attempt(vals[:i] + [a + b + 1] + vals[i + 2 :]) or attempt(vals[:i] + [a + b] + vals[i + 2 :]):
                improved = True
                vals = _strip(best.chooser.values)
                continue
            i += 1
        vals = _strip(best.chooser.values)
        for i in range(len(vals)):
            if i >= len(vals) or vals[i] <= 1:
                continue
            lo, hi = 0, vals[i]
            while lo + 1 < hi:
                mid = (lo + hi) // 2
                if attempt(vals[:i] + [mid] + vals[i + 1 :]):
                    improved = True
                    vals = _strip(best.chooser.values)
                    if i >= len(vals):
                        break
                    hi = vals[i]
                else:
                    lo = mid
    return best


@with_frozen_heap
def fuzz(
    plan: Plan,
    scenario: Scenario,
    *,
    iterations: int,
    seed: int,
    time_limit: float | None = None,
    shrink_failures: bool = True,
    progress: Progress | None = None,
    stats: Stats | None = None,
    make: Make = SimInstance,
    guided: bool = False,
    workers: int = 1,
) -> Stats:
    """``iterations`` executions with seeded random answers; a failure is shrunk, then raised.
    ``guided=True`` steers them by coverage instead (``_guided``: a corpus of executions that
    reached new behaviour, mutated, after a plain random warm-up). ``workers > 1``
    runs the same executions on that many forked processes (``_parallel``); guided, that many
    islands, each a guided search of its own."""
    if guided:
        from ._guided import guided_fuzz

        return guided_fuzz(
            plan, scenario, iterations=iterations, seed=seed, time_limit=time_limit,
            shrink_failures=shrink_failures, progress=progress, stats=stats, make=make, workers=workers,
        )
    if workers > 1:
        return _fuzz_in_workers(plan, scenario, iterations, seed, time_limit, shrink_failures, progress, stats, make, workers)
    stats = stats or Stats("fuzz", target=iterations)
    last = [0.0]
    master = random.Random(seed)
    made = Recycler(make)
    for i in range(iterations):
        rng = random.Random(master.getrandbits(64))
        res = run_once(plan, scenario, RandomChooser(rng), made)
        _tick(stats, res, progress, last)
        if res.status == "failed":
            stats.seconds = time.perf_counter() - stats.started
            found = len(res.chooser.values)
            if shrink_failures:
                res = shrink(plan, scenario, res)
            how = f"fuzz seed={seed}, iteration {i + 1}"
            if shrink_failures:
                how += f", shrunk from {found} to {len(res.chooser.values)} decision(s)"
            raise failure(plan, res, how)
        if time_limit is not None and time.perf_counter() - stats.started > time_limit:
            break
    stats.complete = True
    stats.seconds = time.perf_counter() - stats.started
    if progress is not None:
        progress(stats)
    return stats


def _fuzz_in_workers(
    plan: Plan,
    scenario: Scenario,
    iterations: int,
    seed: int,
    time_limit: float | None,
    shrink_failures: bool,
    progress: Progress | None,
    stats: Stats | None,
    make: Make,
    workers: int,
) -> Stats:
    __tracebackhide__ = True
    st = stats or Stats("fuzz", target=iterations)
    last = [0.0]

    made = Recycler(make)

    def run(ch: RandomChooser) -> RunResult:
        return run_once(plan, scenario, ch, made)

    def account(executions: int, pruned: int, decisions: int, _hits: int) -> None:
        _add_counts(st, executions, pruned, decisions)

    def check() -> None:
        _show_progress(st, progress, last)

    deadline = None if time_limit is None else st.started + time_limit
    try:
        fuzz_in_workers(run, seed=seed, iterations=iterations, workers=workers, deadline=deadline, account=account, check=check)
    except WorkerFailure as w:
        st.seconds = time.perf_counter() - st.started
        how = f"fuzz seed={seed}, iteration {(w.iteration or 0) + 1} (in one of {workers} worker processes)"
        raise_fuzz_failure(plan, scenario, make, w, how, shrink_failures)
    st.complete = True
    st.seconds = time.perf_counter() - st.started
    if progress is not None:
        progress(st)
    return st


def raise_fuzz_failure(plan: Plan, scenario: Scenario, make: Make, w: WorkerFailure, how: str, shrink_failures: bool) -> NoReturn:
    """Raise what a fuzzing worker found: its failing execution run again here (so the trace,
    the token, shrinking and the reproducer come from this process), or the worker's crash."""
    __tracebackhide__ = True
    if w.values is not None:
        res = run_once(plan, scenario, PrefixChooser(w.values), make)
        if res.status == "failed":
            found = len(res.chooser.values)
            if shrink_failures:
                res = shrink(plan, scenario, res)
                how += f", shrunk from {found} to {len(res.chooser.values)} decision(s)"
            raise failure(plan, res, how)
    _raise_from_worker(plan, scenario, make, False, w, how)


class _HypothesisFailure(Exception):
    def __init__(self, res: RunResult) -> None:
        super().__init__(f"{type(res.error).__name__}: {res.error}")
        self.res = res


@with_frozen_heap
def hypothesis_search(
    plan: Plan,
    scenario: Scenario,
    *,
    max_examples: int,
    seed: int | None,
    progress: Progress | None = None,
    stats: Stats | None = None,
) -> Stats:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    stats = stats or Stats("hypothesis", target=max_examples)
    last = [0.0]
    made = Recycler()

    @settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck(h) for h in HealthCheck],
        print_blob=False,
    )
    @given(st.data())
    def search(data: Any) -> None:
        res = run_once(plan, scenario, DrawChooser(data), made)
        _tick(stats, res, progress, last)
        if res.status == "failed":
            raise _HypothesisFailure(res)

    test: Callable[[], None] = search  # pyright: ignore[reportAssignmentType]
    if seed is not None:
        test = hseed(seed)(test)
    try:
        test()
    except _HypothesisFailure as f:
        stats.seconds = time.perf_counter() - stats.started
        raise failure(plan, f.res, "Hypothesis search, shrunk by Hypothesis") from None
    stats.complete = True
    stats.seconds = time.perf_counter() - stats.started
    return stats


def replay(plan: Plan, scenario: Scenario, token: str) -> RunResult:
    values = decode_token(token, plan.fingerprint)
    ch = PrefixChooser(values, strict=True)
    res = run_once(plan, scenario, ch)
    if res.status == "failed":
        raise failure(plan, res, "replayed from a token")
    if len(ch.values) < len(values):
        raise StaleTokenError(
            f"the replay made {len(ch.values)} decision(s) but the token holds {len(values)}: "
            "the program or the scenario changed since the token was made"
        )
    return res
