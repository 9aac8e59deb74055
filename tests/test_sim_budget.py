"""The cost of an exhaustive search: estimated before it runs long, bounded by a budget whose
message names the dominant nondet sites, and shown as progress. (The estimate is exact on the
reference counts: ``tests/test_sim_reference.py`` checks it on each.)"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Callable

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import Budget, ExplorationLimitError, Stats, sim
from hydrologic.sim._budget import TreeShape, explored_fraction
from hydrologic.sim._engines import exhaustive
from hydrologic.sim._progress import describe


class Member: ...


class Leader: ...


class P: ...


def exploding(flow: hl.FlowBuilder, members: int = 3, beats: int = 4) -> Callable[[], None]:
    """Members batch their heartbeats and report the sums to a leader that reads whatever
    reports arrived each tick: the executions multiply with members and heartbeats."""
    m = flow.cluster(Member)
    leader = flow.process(Leader)
    inp, s = m.sim_input(int)
    sums = s.batch(m.tick(), nondet("a member sums its heartbeats per tick")).fold(lambda: 0, lambda a, x: a + x)
    got = (
        sums.into_stream()
        .all_ticks()
        .send(leader)
        .values()
        .batch(leader.tick(), nondet("the leader reads whatever reports arrived"))  # LEADER-BATCH
        .count()
        .into_stream()
        .all_ticks()
        .sim_output()
    )

    def scenario() -> None:
        for i in range(members):
            inp.send_many(list(range(beats)), member=i)
        got.collect()

    return scenario


LEADER_LINE = next(i for i, line in enumerate(Path(__file__).read_text().splitlines(), 1) if "# LEADER-BATCH" in line)


def batching(flow: hl.FlowBuilder, n: int) -> Callable[[], None]:
    """A batch over ``n`` ordered inputs: 2 ** (n - 1) executions (the compositions of n)."""
    p = flow.process(P)
    inp, s = p.sim_input(int)
    out = s.batch(p.tick(), nondet("batch")).fold(lambda: 0, lambda a, x: a + x).into_stream().all_ticks().sim_output()

    def scenario() -> None:
        inp.send_many(list(range(n)))
        out.collect()

    return scenario


def test_an_exploding_search_stops_within_its_time_budget_naming_the_dominant_sites() -> None:
    flow = hl.FlowBuilder()
    scenario = exploding(flow)
    sm = sim(flow, cluster_sizes={Member: 3})
    sm.budget = Budget(seconds=2.0, executions=None)
    t0 = time.perf_counter()
    with pytest.raises(ExplorationLimitError) as info:
        sm.exhaustive(scenario)
    took = time.perf_counter() - t0
    assert took < 2.0 + 1.5, took  # the budget, plus at most one execution and the estimate
    msg = str(info.value)
    assert "max_seconds=2" in msg
    assert f"test_sim_budget.py:{LEADER_LINE}" in msg and "the leader reads whatever reports arrived" in msg
    assert "sim.fuzz(scenario" in msg and "fewer cluster members" in msg and "hl_sim_budget" in msg
    # the reductions this search did not use: the state cache, and the symmetry of the cluster
    assert "sim.exhaustive(scenario, states=True) (hydrologic sim --states)" in msg
    assert "members of Cluster[Member] run the same code" in msg and "--symmetric Member" in msg
    # the estimate says the search is far bigger than what ran
    assert sm.last is not None and sm.last.estimate is not None
    assert not sm.last.estimate.exact and sm.last.estimate.likely > 10 * (sm.last.executions + sm.last.pruned)


def test_the_execution_budget_stops_the_search() -> None:
    flow = hl.FlowBuilder()
    scenario = batching(flow, 12)  # 2,048 executions
    sm = sim(flow)
    with pytest.raises(ExplorationLimitError, match="max_executions=1,000") as info:
        sm.exhaustive(scenario, max_executions=1000)
    assert sm.last is not None and sm.last.executions <= 1000
    assert "`batch` at" in str(info.value)
    assert sm.exhaustive(scenario) == 2048  # within the default budget


def test_the_estimate_is_an_upper_bound_until_the_tree_is_enumerated() -> None:
    flow = hl.FlowBuilder()
    scenario = batching(flow, 12)
    plan = sim(flow).plan
    seen: list[object] = []
    st = Stats("exhaustive")
    # probe_seconds=0: the estimate is taken after the first execution
    exhaustive(plan, scenario, stats=st, probe_seconds=0.0, on_estimate=seen.append)
    assert st.executions == 2048 and st.estimate is not None and st.estimate.exact
    assert len(seen) == 1
    early = seen[0]
    assert not getattr(early, "exact")
    assert getattr(early, "executions") >= 2048  # an upper bound
    assert 2048 / 8 <= getattr(early, "likely") <= 2048 * 8  # Knuth's estimator: the right size
    # and the explicit API
    est = sim(flow).estimate(scenario, seconds=60)
    assert est.exact and est.executions == 2048
    assert est.sites and est.sites[0].label.startswith("`batch` at") and est.sites[0].max_options == 12


def test_tree_shape_bound_and_fraction() -> None:
    shape = TreeShape()
    # a full binary tree of depth 3: the first leaf answers 0, 0, 0
    shape.observe([2, 2, 2])
    assert shape.remaining([0, 0, 0], [2, 2, 2]) == 7
    assert shape.remaining([1, 0, 1], [2, 2, 2]) == 2
    assert explored_fraction([0, 0, 0], [2, 2, 2]) == pytest.approx(1 / 8)
    assert explored_fraction([1, 1, 1], [2, 2, 2]) == pytest.approx(1.0)


def test_progress_line_shows_done_estimate_rate_and_time_left() -> None:
    st = Stats("exhaustive", executions=1000, seconds=2.0, target=5000)
    line = describe(st)
    assert "1,000 / 5,000 executions" in line and "500/s" in line and "8s left" in line


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=180)


PROG = textwrap.dedent(
    """
    import hydrologic as hl
    from test_sim_budget import exploding, batching, Member


    def explode(flow):
        return exploding(flow)


    def small(flow):
        return batching(flow, 3)
    """
)


def test_cli_prints_the_estimate_and_stops_over_budget(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text(PROG)
    env_path = str(Path(__file__).parent)
    small = _run(["-c", f"import sys; sys.path[:0] = [{env_path!r}, '.']; from hydrologic.cli import main; sys.exit(main(['sim', 'prog.py:small', '--no-progress']))"], tmp_path)
    assert small.returncode == 0, small.stderr
    assert "[hydrologic] sim: estimate: exactly 4 execution(s)" in small.stdout
    t0 = time.perf_counter()
    big = _run(
        ["-c", f"import sys; sys.path[:0] = [{env_path!r}, '.']; from hydrologic.cli import main; "
         "sys.exit(main(['sim', 'prog.py:explode', '--cluster', 'Member=3', '--max-seconds', '2', '--no-progress']))"],
        tmp_path,
    )
    assert big.returncode == 3, big.stderr
    assert "far over its budget" in big.stderr or "stopped at its budget" in big.stderr
    assert "the leader reads whatever reports arrived" in big.stderr
    assert time.perf_counter() - t0 < 30


BUDGET_TEST = textwrap.dedent(
    """
    import pytest
    import hydrologic as hl
    from test_sim_budget import exploding, Member


    @pytest.mark.hl_sim_budget(seconds=1, executions=1000)
    def test_marked(hl_sim):
        flow = hl.FlowBuilder()
        scenario = exploding(flow)
        hl_sim(flow, cluster_sizes={Member: 3}).exhaustive(scenario)
    """
)


def test_the_budget_marker_sets_a_tests_budget(tmp_path: Path) -> None:
    (tmp_path / "test_marked.py").write_text(BUDGET_TEST)
    (tmp_path / "conftest.py").write_text(f"import sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n")
    r = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_marked.py"], tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    # the estimate (about 1e9 executions) is over both of the marker's budgets, far under the
    # default ones would be in time; which one the message names depends on the sampled rate
    assert "ExplorationLimitError" in r.stdout, r.stdout + r.stderr
    assert "(max_executions=1,000)" in r.stdout or "(max_seconds=1" in r.stdout, r.stdout + r.stderr


def _cached_search_over_budget(max_seconds: float) -> tuple[str, Stats]:
    """The message of a state-cached search of ``exploding`` stopped by its time budget."""
    flow = hl.FlowBuilder()
    scenario = exploding(flow)
    sm = sim(flow, cluster_sizes={Member: 3})
    sm.show_progress = False
    with pytest.raises(ExplorationLimitError) as info:
        sm.exhaustive(scenario, states=True, max_seconds=max_seconds)
    assert sm.last is not None
    return str(info.value), sm.last


def test_a_cached_symmetric_search_over_budget_suggests_neither_again() -> None:
    msg, _ = _cached_search_over_budget(1.0)
    assert "hydrologic sim --states" not in msg and "--symmetric Member" in msg


def test_a_cached_search_over_budget_says_the_tree_overstates_it_and_how_the_states_grew() -> None:
    # With the state cache the decision tree's size is not the search's cost: the message must not
    # present it as "the whole search would take", and says how many runs stopped at a known
    # state, how many distinct states there are and whether they were still growing.
    msg, stats = _cached_search_over_budget(2.5)
    assert "the whole search would take" not in msg and "its decision tree holds about" in msg, msg
    assert "With the state cache" in msg and "distinct states" in msg, msg
    assert "Distinct states found:" in msg and "in the first half of the" in msg, msg
    assert "workers=2" in msg, msg  # one process: suggest the second core
    assert stats.states is not None
    assert f"{stats.states.distinct:,} distinct states" in msg, msg


def test_the_state_growth_line_tells_a_search_still_growing_from_one_levelling_off() -> None:
    from hydrologic.sim._budget import CacheProgress

    growing = CacheProgress(runs=1000, pruned=900, distinct=200, growth=[(0.5, 20), (5.0, 90), (9.5, 190)])
    lines = growing.lines(10.0, workers=2)
    assert "90% of 1,000 runs stopped at one of 200 distinct states" in lines[0]
    assert "90 in the first half of the 10s, 110 in the second (still growing as fast)" in lines[1]
    assert not any("workers=2" in ln for ln in lines)  # already on two processes
    flat = CacheProgress(runs=1000, pruned=990, distinct=200, growth=[(0.5, 150), (5.0, 195), (9.5, 200)])
    assert "(levelling off)" in flat.lines(10.0, workers=1)[1]
    slower = CacheProgress(runs=1000, pruned=990, distinct=200, growth=[(5.0, 140)])
    assert "(growing more slowly)" in slower.lines(10.0, workers=1)[1]
