"""A state revisited with a smaller sleep set runs only the units its first visit left asleep.

With a state cache, a later visit of a state is not pruned when a unit asleep at the first visit
is awake now. It then runs only those units (``Scheduler._exclude_explored``): the others ran
from this state at the first visit, with their whole subtrees. The search must find exactly the
states and outcomes of the search that runs every awake unit again (``_states.REFINE`` off),
with fewer executions, and a failure it finds must replay from its token."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from hydrologic.sim import SimulationFailure
from hydrologic.sim import _repro as repro, _scheduler, _states
from hydrologic.sim._choices import PrefixChooser
from hydrologic.sim._shared_states import MaskSet

from seeded_bugs_support import Participants, Replicas, quorum_register, two_phase_commit_counter
from test_paxos_sim import program
from test_sim_rewind import _race_outcome, assert_replays_from_token, last_outcome_fails


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many picks excluded units that ran before (one list cell, updated)."""
    excluded = [0]
    original = _scheduler.Scheduler._exclude_explored  # pyright: ignore[reportPrivateUsage]

    def exclude(self: Any, awake: Any, explored: Any, out: dict[int, frozenset[int]], depth: int) -> None:
        original(self, awake, explored, out, depth)
        excluded[0] += len(out.get(depth, ()))

    monkeypatch.setattr(_scheduler.Scheduler, "_exclude_explored", exclude)
    return excluded


def _both(monkeypatch: pytest.MonkeyPatch, search: Callable[[], Any]) -> tuple[tuple[int, int, int], tuple[int, int, int], int]:
    """(executions, pruned, states) of the search without and with the refinement, and how many
    units the refined one excluded."""
    excluded = _counting(monkeypatch)
    out: list[tuple[int, int, int]] = []
    for refine in (False, True):
        monkeypatch.setattr(_states, "REFINE", refine)
        before = excluded[0]
        stats = search()
        assert stats.complete
        out.append((stats.executions, stats.pruned, stats.states.distinct))
        if not refine:
            assert excluded[0] == before  # the switch turns it off
    return out[0], out[1], excluded[0]


def _two_pc(n: int, workers: int = 1) -> Callable[[], Any]:
    case = two_phase_commit_counter(None, n)

    def search() -> Any:
        sim = case.sim()
        sim.exhaustive(case.scenario, symmetric=[Participants] if n > 2 else (), states=True, max_seconds=300, workers=workers)
        return sim.last

    return search


def test_two_phase_commit_finds_the_same_states_with_fewer_executions(monkeypatch: pytest.MonkeyPatch) -> None:
    plain, refined, excluded = _both(monkeypatch, _two_pc(3))
    assert refined[2] == plain[2] and 700 <= refined[2] <= 730, (plain, refined)
    assert refined[0] + refined[1] < plain[0] + plain[1], (plain, refined)
    assert excluded > 0


def test_two_participants_without_symmetry(monkeypatch: pytest.MonkeyPatch) -> None:
    plain, refined, _ = _both(monkeypatch, _two_pc(2))
    assert refined[2] == plain[2] == 252
    assert refined[0] + refined[1] <= plain[0] + plain[1]


def test_the_quorum_register_finds_the_same_states(monkeypatch: pytest.MonkeyPatch) -> None:
    case = quorum_register(None, retry=True)

    def search() -> Any:
        sim = case.sim()
        sim.exhaustive(case.scenario, symmetric=[Replicas], max_seconds=300)
        return sim.last

    plain, refined, _ = _both(monkeypatch, search)
    assert refined[2] == plain[2], (plain, refined)
    assert refined[0] + refined[1] <= plain[0] + plain[1]


def test_paxos_leader_change_sees_every_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    p = program(2, 1, 0)
    seen: list[set[Any]] = []

    def scenario() -> None:
        seen[-1].add(_race_outcome(p))

    def search() -> Any:
        seen.append(set())
        sim = p.sim()
        sim.exhaustive(scenario, states=True, max_seconds=300)
        return sim.last

    plain, refined, excluded = _both(monkeypatch, search)
    assert refined[2] == plain[2] and excluded > 0
    assert refined[0] + refined[1] < plain[0] + plain[1], (plain, refined)
    assert seen[0] == seen[1] and len(seen[1]) >= 2


def test_two_processes_share_what_they_explored(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shared table stores sleep sets as masks (``MaskSet``); states may differ by a few
    # between runs of a parallel search (how the processes split the tree), not more.
    plain, refined, _ = _both(monkeypatch, _two_pc(3, workers=2))
    assert abs(refined[2] - plain[2]) <= 5 and 700 <= refined[2] <= 730, (plain, refined)


def test_a_failure_found_by_the_refined_search_replays_from_its_token(monkeypatch: pytest.MonkeyPatch) -> None:
    # Excluded options keep their numbers: the failing execution's decisions index every awake
    # unit, so its token replays it from the start with the same trace.
    monkeypatch.setenv(repro.ENV, "off")  # a failure this test makes on purpose: no reproducer file
    p = program(2, 1, 0)
    scenario = last_outcome_fails(p)
    excluded = _counting(monkeypatch)
    with pytest.raises(SimulationFailure) as info:
        p.sim().exhaustive(scenario, states=True, max_seconds=300)
    assert excluded[0] > 0
    assert_replays_from_token(p, scenario, info.value)


def test_an_answer_lands_on_the_next_option_not_excluded() -> None:
    ch = PrefixChooser([], prunes=True)
    ch.excluded = {0: frozenset({0, 1}), 1: frozenset({0, 1, 2})}
    assert ch.choose(4) == 2
    assert ch.choose(3) == 2  # every option excluded: the last one (the scheduler then prunes)
    assert ch.values == [2, 2] and ch.ranges == [4, 3]
    capped = PrefixChooser([1], prunes=True)
    capped.excluded = {0: frozenset({1, 2})}
    capped.caps = {0: 3}  # options 3 and up belong to another worker
    assert capped.choose(5) == 2  # not 3: the last option it may take, excluded too
    kept = PrefixChooser([], prunes=True)
    kept.excluded = {0: frozenset({1}), 2: frozenset({0}), 5: frozenset({1})}
    assert kept.keep_excluded(2) == {0: frozenset({1}), 2: frozenset({0})}


def test_a_stored_mask_reads_as_the_set_it_stores() -> None:
    bits = {(0, 0, 0): 0, (1, 0, 0): 1, (2, 1, 0): 62}
    m = MaskSet(1 << 1 | 1 << 62, bits)
    assert (1, 0, 0) in m and (2, 1, 0) in m and (0, 0, 0) not in m
    assert (9, 0, 0) not in m  # a unit past the mask's bits, none of which was stored asleep
    assert (9, 0, 0) in MaskSet(1 << 63, bits)  # one may have been: taken as asleep, so it runs


def test_with_the_state_cache_every_outcome_of_the_unreduced_explorer_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    # The outcomes (what every output gave the scenario) of the cached, refined search must be
    # those of an explorer with no reduction at all (any runnable tick next, nothing asleep, no
    # cache), on programs where units kept asleep and revisited states both occur.
    from hydrologic.sim import Stats
    from hydrologic.sim._engines import exhaustive

    from seeded_bugs_support import gossip_counter
    from test_sim_por import _recording, hub_and_workers, hub_with_a_tally, run
    from test_sim_states import HydroLikeInstance

    excluded = _counting(monkeypatch)
    for make_case in (lambda: two_phase_commit_counter(None, 2), lambda: gossip_counter(None)):
        outcomes: list[set[Any]] = []
        for cached in (True, False):
            case = make_case()
            plan = case.sim().plan
            seen: set[Any] = set()
            st = Stats("exhaustive")
            kw: dict[str, Any] = {"states": True} if cached else {"make": HydroLikeInstance}
            exhaustive(plan, _recording(case.scenario, plan, seen), stats=st, max_seconds=300, **kw)
            assert st.complete
            outcomes.append(seen)
        assert outcomes[0] == outcomes[1] and len(outcomes[0]) > 1
    for make_sim in (hub_with_a_tally, hub_and_workers):
        sm, scenario_for = make_sim()
        seen_cached: set[Any] = set()
        st = Stats("exhaustive")
        exhaustive(sm.plan, scenario_for(seen_cached), stats=st, max_seconds=300, states=True)
        assert st.complete
        _, everything = run(make_sim()[0].plan, scenario_for, make=HydroLikeInstance)
        assert seen_cached == everything and len(everything) > 4
    assert excluded[0] > 0
