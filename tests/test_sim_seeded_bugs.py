"""The seeded-bug suite: every mutation is found, every clean twin passes.

The programs and their mutations are in ``seeded_bugs_support.py`` (a quorum register over
``std.reached_quorum``, a key-value server, a log replica, two-phase commit over
``std.two_phase_commit``, a gossiped counter, a client of ``std.paxos``). Each mutation must be found by the search its
entry names within 60 s, as a failed assertion of the scenario (not a crash of the program), and
by coverage-guided fuzzing as well; each clean twin must pass.

CI runs the clean twins with the budget each entry gives for CI (exhaustive where that takes
seconds, a fuzz budget otherwise); ``HL_FULL=1 pytest tests/test_sim_seeded_bugs.py`` runs the
full budgets (every twin that can be enumerated in minutes is enumerated).
``bench/bench_seeded_bugs.py`` measures the executions each search needs per bug.
"""

from __future__ import annotations

import os
import random
import time

import pytest

from hydrologic.sim import SimulationFailure
from hydrologic.sim._guided import Corpus, GuidedChooser, guided_fuzz

from seeded_bugs_support import BUGS, Budget, Case, SeededBug

FULL = os.environ.get("HL_FULL") == "1"
FIND_SECONDS = 60.0
TWINS = {b.twin: b for b in BUGS}


def search(case: Case, budget: Budget, *, guided: bool = False, seed: int = 0) -> int:
    sim = case.sim()
    if budget == "exhaustive":
        n = sim.exhaustive(case.scenario, max_seconds=600 if FULL else 120)
        assert sim.last is not None and sim.last.complete
        return n
    assert isinstance(budget, int)
    return sim.fuzz(case.scenario, iterations=budget, seed=seed, guided=guided)


def assert_found(bug: SeededBug, budget: Budget, *, guided: bool = False) -> SimulationFailure:
    case = bug.build(True)
    t0 = time.perf_counter()
    with pytest.raises(SimulationFailure) as info:
        search(case, budget, guided=guided)
    seconds = time.perf_counter() - t0
    assert seconds < FIND_SECONDS, f"{bug.name} took {seconds:.1f}s to find"
    err = info.value
    # the scenario's invariant caught it, not a crash or a runaway program
    assert type(err.original) is AssertionError, err
    assert "seeded_bugs_support.py" in str(err) and "Replay exactly this execution" in str(err)
    return err


def test_the_suite_has_twelve_or_more_mutations_of_six_protocols() -> None:
    assert len(BUGS) >= 12
    assert len({b.name for b in BUGS}) == len(BUGS)
    assert len({b.protocol.split(" (")[0] for b in BUGS}) >= 6


@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_the_mutation_is_found(bug: SeededBug) -> None:
    err = assert_found(bug, bug.find)
    # the failure replays from its token: the same execution, the same assertion
    case = bug.build(True)
    with pytest.raises(SimulationFailure) as again:
        case.sim().replay(case.scenario, err.token)
    assert str(again.value.original) == str(err.original)


@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_the_mutation_is_found_by_coverage_guided_fuzz(bug: SeededBug) -> None:
    assert_found(bug, 3_000, guided=True)


@pytest.mark.parametrize("twin", sorted(TWINS), ids=sorted(TWINS))
def test_the_clean_twin_passes(twin: str) -> None:
    bug = TWINS[twin]
    budget = bug.twin_full if FULL else bug.twin_ci
    n = search(bug.build(False), budget)
    assert n >= (budget if isinstance(budget, int) else 1)


def test_a_twin_is_the_same_program_with_the_mutation_undone() -> None:
    # mutations differ from their twin in one place: same locations and cluster sizes, and the
    # same scenario runs (only the quorum/merge/step/wiring changes)
    for bug in BUGS:
        bad, good = bug.build(True), bug.build(False)
        assert bad.sizes == good.sizes, bug.name
        assert [l.name for l in bad.flow.build().locations] == [l.name for l in good.flow.build().locations], bug.name


# ---- the coverage-guided engine itself --------------------------------------------------------------


def test_guided_chooser_replays_its_prefix_clamped_then_answers_at_random() -> None:
    ch = GuidedChooser([3, 9, 1], random.Random(0))
    assert [ch.choose(5), ch.choose(4), ch.choose(2)] == [3, 3, 1]  # 9 clamped to the last option
    tail = [ch.choose(6) for _ in range(50)]
    assert all(0 <= v < 6 for v in tail) and len(set(tail)) > 3
    assert ch.ranges[:3] == [5, 4, 2] and len(ch.features) > 1


def test_the_corpus_keeps_only_executions_with_new_features() -> None:
    corpus = Corpus()
    a = GuidedChooser([], random.Random(1))
    a.choose(3)
    assert corpus.offer(a) and len(corpus.entries) == 1
    b = GuidedChooser([a.values[0]], random.Random(2))
    b.choose(3)
    assert not corpus.offer(b)  # the same decision at the same site: nothing new
    c = GuidedChooser([(a.values[0] + 1) % 3], random.Random(3))
    c.choose(3)
    assert corpus.offer(c) and len(corpus.entries) == 2
    mutated = corpus.mutate(random.Random(4))
    assert len(mutated) <= 1 and all(0 <= v < 3 for v in mutated)


def test_guided_fuzz_is_reproducible_by_seed_and_keeps_a_corpus() -> None:
    bug = next(b for b in BUGS if b.name == "duplicate-acks-counted")
    found: list[int] = []
    for _ in range(2):
        case = bug.build(True)
        sim = case.sim()
        with pytest.raises(SimulationFailure):
            sim.fuzz(case.scenario, iterations=3_000, seed=5, guided=True, shrink=False)
        assert sim.last is not None
        found.append(sim.last.executions + sim.last.pruned)
    assert found[0] == found[1]
    # on a clean program it runs its whole budget and keeps executions that reached new coverage
    case = bug.build(False)
    kept: list[int] = []
    stats = guided_fuzz(case.sim().plan, case.scenario, iterations=300, seed=0, on_execution=lambda r: kept.append(len(r.chooser.values)))
    assert stats.executions + stats.pruned == 300 and stats.complete and len(kept) == 300


def test_guided_failures_are_shrunk_and_named() -> None:
    bug = next(b for b in BUGS if b.name == "write-quorum-too-small")
    case = bug.build(True)
    with pytest.raises(SimulationFailure) as info:
        case.sim().fuzz(case.scenario, iterations=3_000, seed=2, guided=True)
    assert "coverage-guided fuzz seed=2" in str(info.value) and "shrunk from" in str(info.value)


def test_plain_random_fuzz_stays_the_default() -> None:
    bug = next(b for b in BUGS if b.name == "write-quorum-too-small")
    case = bug.build(True)
    with pytest.raises(SimulationFailure) as info:
        case.sim().fuzz(case.scenario, iterations=3_000, seed=2)
    assert "(fuzz seed=2, iteration" in str(info.value) and "coverage-guided" not in str(info.value)
