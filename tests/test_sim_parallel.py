"""Searches on several processes (``workers=``): the same executions as one process, failures
reported from here with their trace, budgets kept, and misuse refused with the fix."""

from __future__ import annotations

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import ExplorationLimitError, SimulationFailure, sim
from hydrologic.sim._engines import MIN_WALKS, exhaustive, fuzz
from hydrologic.sim._parallel import can_fork, subtrees
from hydrologic.types.errors import UsageError

from seeded_bugs_support import Participants, two_phase_commit_counter

pytestmark = pytest.mark.skipif(not can_fork(), reason="workers= needs the fork start method")


class Client: ...


class Proxy: ...


class Store: ...


def summing(n: int, bad: int | None = None, bad_split: tuple[int, ...] | None = None) -> tuple[hl.FlowBuilder, object, list[object]]:
    """client -> proxy -> store (sums each batch) -> client; with ``bad``, the scenario rejects a
    batch that sums to it (a bug only some batchings show), with ``bad_split`` one sequence of
    sums (a bug one batching in 2^(n-1) shows). Returns (flow, scenario, seen sums)."""
    flow = hl.FlowBuilder()
    client, proxy, store = flow.process(Client), flow.process(Proxy), flow.process(Store)
    inp, s = client.sim_input(int)
    sums = (
        s.send(proxy)
        .map(lambda x: x)
        .send(store)
        .batch(store.tick(), nondet("the store sums whatever has arrived"))
        .fold(lambda: 0, lambda a, x: a + x)
        .into_stream()
        .all_ticks()
        .send(client)
        .sim_output()
    )
    values = list(range(1, n + 1))
    seen: list[object] = []

    def scenario() -> None:
        inp.send_many(values)
        got = sums.collect()
        seen.append(tuple(got))
        assert sum(got) == sum(values)
        assert bad not in got, f"a batch summed to {bad}"
        assert tuple(got) != bad_split, f"the batches summed to {bad_split}"

    return flow, scenario, seen


def test_subtrees_cover_what_the_last_execution_left() -> None:
    assert subtrees([0, 1, 0], [2, 3, 2]) == [[1], [0, 2], [0, 1, 1]]
    assert subtrees([1, 2], [2, 3]) == []


def test_exhaustive_on_two_workers_runs_every_execution_once() -> None:
    flow, scenario, _ = summing(11)
    one = sim(flow)
    one.show_progress = False
    n1 = one.exhaustive(scenario)
    flow, scenario, _ = summing(11)
    two = sim(flow)
    two.show_progress = False
    n2 = two.exhaustive(scenario, workers=2)
    assert n1 == n2 == 2 ** 10
    assert two.last is not None and two.last.complete and two.last.decisions == one.last.decisions  # type: ignore[union-attr]


def test_every_subtree_is_handed_on_right_after_the_first_execution() -> None:
    # probe_seconds=0: everything after the first execution runs in the workers, which keep
    # giving each other the shallow parts of their subtrees
    flow, scenario, seen = summing(9)
    s = sim(flow)
    st = exhaustive(s.plan, scenario, probe_seconds=0.0, workers=2)
    assert st.complete and st.executions == 2 ** 8
    # this process ran only the first and the estimate's random walks; the workers the rest
    assert len(seen) == 1 + MIN_WALKS


def test_a_failure_met_in_a_worker_is_reported_with_its_trace_and_a_token_that_replays_it() -> None:
    flow, scenario, _ = summing(8, bad_split=(3, 7, 11, 15))
    s = sim(flow)
    with pytest.raises(SimulationFailure) as e:
        exhaustive(s.plan, scenario, probe_seconds=0.0, workers=2)
    msg = str(e.value)
    assert "the batches summed to (3, 7, 11, 15)" in msg and "in one of 2 worker processes" in msg
    with pytest.raises(SimulationFailure, match="the batches summed to"):
        s.replay(scenario, e.value.token)  # type: ignore[arg-type]


def test_budgets_stop_a_parallel_search_with_the_usual_message() -> None:
    flow, scenario, _ = summing(16)
    s = sim(flow)
    s.show_progress = False
    with pytest.raises(ExplorationLimitError, match="max_executions=3,000"):
        s.exhaustive(scenario, workers=2, max_executions=3_000)
    assert s.last is not None and 3_000 <= s.last.executions < 2 ** 15
    with pytest.raises(ExplorationLimitError, match="max_seconds=1"):
        s.exhaustive(scenario, workers=2, max_seconds=1)


def test_state_caching_on_workers_reaches_every_state_and_still_finds_the_bug() -> None:
    clean = two_phase_commit_counter(None, 2)
    one = clean.sim()
    one.exhaustive(clean.scenario, states=True)
    assert one.last is not None and one.last.states is not None
    alone = one.last.states.distinct
    two = clean.sim()
    two.exhaustive(clean.scenario, states=True, workers=2)
    assert two.last is not None and two.last.complete and two.last.states is not None
    # one table shared by every process: each state explored once, whichever worker reaches it
    assert two.last.states.shared is not None and two.last.states.hits > 0
    assert abs(two.last.states.distinct - alone) <= alone // 20, (two.last.states.distinct, alone)
    buggy = two_phase_commit_counter("lock-released-at-vote", 2)
    with pytest.raises(SimulationFailure):
        buggy.sim().exhaustive(buggy.scenario, states=True, workers=2)
    sym = clean.sim()
    sym.exhaustive(clean.scenario, symmetric=[Participants], workers=2)
    assert sym.last is not None and sym.last.complete


def test_fuzz_on_two_workers_runs_the_same_iterations_and_reports_a_failure_that_replays() -> None:
    flow, scenario, _ = summing(10)
    s = sim(flow)
    s.show_progress = False
    assert s.fuzz(scenario, iterations=3_000, workers=2) == 3_000
    flow, scenario, _ = summing(10, bad=19)
    s = sim(flow)
    s.show_progress = False
    with pytest.raises(SimulationFailure) as e:
        s.fuzz(scenario, iterations=3_000, workers=2)
    assert "in one of 2 worker processes" in str(e.value) and "shrunk from" in str(e.value)
    with pytest.raises(SimulationFailure, match="a batch summed to 19"):
        s.replay(scenario, e.value.token)  # type: ignore[arg-type]


def test_fuzz_workers_stop_at_the_time_limit() -> None:
    flow, scenario, _ = summing(10)
    s = sim(flow)
    st = fuzz(s.plan, scenario, iterations=10**9, seed=1, time_limit=0.5, workers=2)
    assert st.complete and 0 < st.executions < 10**9 and st.seconds < 5


def test_misuse_of_workers_is_refused_with_the_fix() -> None:
    flow, scenario, _ = summing(3)
    s = sim(flow)
    with pytest.raises(UsageError, match="workers must be an int >= 1"):
        s.exhaustive(scenario, workers=0)
    with pytest.raises(UsageError, match="workers must be an int >= 1"):
        s.fuzz(scenario, guided=True, workers=0)


def test_guided_fuzz_on_two_workers_runs_islands_and_reports_a_failure_that_replays() -> None:
    flow, scenario, seen = summing(10)
    s = sim(flow)
    s.show_progress = False
    assert s.fuzz(scenario, iterations=2_001, guided=True, workers=2) == 2_001  # 1,001 + 1,000
    assert not seen  # every execution ran in a worker
    flow, scenario, _ = summing(10, bad=19)
    s = sim(flow)
    s.show_progress = False
    with pytest.raises(SimulationFailure) as e:
        s.fuzz(scenario, iterations=3_000, guided=True, workers=2)
    msg = str(e.value)
    assert "coverage-guided fuzz seed=0, island " in msg and " of 2, iteration " in msg and "shrunk from" in msg
    with pytest.raises(SimulationFailure, match="a batch summed to 19"):
        s.replay(scenario, e.value.token)  # type: ignore[arg-type]


def test_island_zero_is_the_one_process_search_and_the_others_differ() -> None:
    from hydrologic.sim._guided import island_seed

    assert island_seed(5, 0) == 5
    assert len({island_seed(5, k) for k in range(8)}) == 8
    assert island_seed(5, 1) == island_seed(5, 1) and island_seed(5, 1) != island_seed(6, 1)


def test_guided_workers_stop_at_the_time_limit() -> None:
    flow, scenario, _ = summing(10)
    s = sim(flow)
    st = fuzz(s.plan, scenario, iterations=10**9, seed=1, time_limit=0.5, workers=2, guided=True)
    assert st.complete and 0 < st.executions < 10**9 and st.seconds < 5


def test_a_search_that_ends_within_the_probe_does_not_fork() -> None:
    flow, scenario, seen = summing(3)
    s = sim(flow)
    s.exhaustive(scenario, workers=2)
    assert len(seen) == 4  # all four executions ran in this process


def test_the_shared_table_keeps_the_sleep_set_rule_across_processes() -> None:
    import os

    from hydrologic.sim._shared_states import SharedStates

    bits = {(0, 0, i): i for i in range(70)}  # more units than a mask has bits
    t = SharedStates(bits, capacity=16)
    a, b, c, high = (0, 0, 1), (0, 0, 2), (0, 0, 3), (0, 0, 65)
    key = bytes(range(1, 17))
    assert not t.visit(key, {a, b})  # first visit: recorded
    assert t.visit(key, {a, b, c})  # stored {a, b} is within {a, b, c}: prune
    assert not t.visit(key, {a})  # {a, b} is not within {a}: explore, and keep {a}
    assert t.visit(key, {a, c})
    # a set with a unit the mask cannot name is never taken as a subset (explored again)
    other = bytes(range(2, 18))
    assert not t.visit(other, {high}) and not t.visit(other, {high, a})
    assert not t.visit(other, {a})  # narrowed to the empty set: from now on every visit prunes
    assert t.visit(other, set())
    # a child process writes the same memory
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        t.visit(bytes(range(3, 19)), {a})
        os._exit(0)
    os.waitpid(pid, 0)
    assert t.used == 3 and t.visit(bytes(range(3, 19)), {a})
    # full (7/8 of 16 slots): new states are explored, not recorded
    for i in range(20):
        t.visit(bytes([i + 100] * 16), set())
    assert t.used == 14 and t.refused > 0 and not t.visit(bytes([119] * 16), set())


def test_a_worker_killed_mid_search_stops_it_with_a_clear_error() -> None:
    import os
    import signal

    from hydrologic.types.errors import HydroRuntimeError

    flow, scenario, _ = summing(16)
    s = sim(flow)
    s.show_progress = False
    parent = os.getpid()
    killed = [False]

    def progress(st: object) -> None:
        # the progress callback runs in this process while the workers run: kill one of them
        if os.getpid() == parent and not killed[0] and getattr(st, "executions", 0) > 3_000:
            import multiprocessing

            kids = multiprocessing.active_children()
            if kids:
                os.kill(kids[0].pid, signal.SIGKILL)  # type: ignore[arg-type]
                killed[0] = True

    with pytest.raises(HydroRuntimeError, match="exit code -9"):
        s.exhaustive(scenario, workers=2, progress=progress, max_seconds=120)
    assert killed[0]
