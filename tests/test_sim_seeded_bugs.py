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
from hydrologic.sim._engines import run_once
from hydrologic.sim._guided import RANDOM_SHARE, WARMUP, Corpus, GuidedChooser, Schedule, final_states, guided_fuzz, instrument

from hydrologic.sim._instance import SimInstance
from seeded_bugs_support import BUGS, Budget, Case, SeededBug, quorum_register

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


def test_the_schedule_stays_random_while_random_finds_coverage() -> None:
    rng = random.Random(0)
    s = Schedule()
    for _ in range(WARMUP):  # the warm-up: random however little it finds
        assert not s.next_is_mutation(rng)
        s.record(False, False)
    s = Schedule()
    for i in range(500):  # random keeps finding new coverage in one run of two: still random
        assert not s.next_is_mutation(rng)
        s.record(False, i % 2 == 0)
    assert s.warming


def test_after_the_warm_up_each_kind_gets_a_share_by_its_yield_within_the_bounds() -> None:
    rng = random.Random(1)
    s = Schedule()
    for _ in range(WARMUP + 40):
        if s.next_is_mutation(rng):
            break
        s.record(False, False)
    assert not s.warming  # random stopped finding anything: mutations start
    picks = []
    for _ in range(2_000):  # mutations find new coverage, random never does
        m = s.next_is_mutation(rng)
        picks.append(m)
        s.record(m, m)
    share = sum(picks[-1_000:]) / 1_000
    assert abs(share - (1 - RANDOM_SHARE)) < 0.05  # mostly mutations, but random keeps its floor
    picks = []
    for _ in range(2_000):  # now the other way round
        m = s.next_is_mutation(rng)
        picks.append(m)
        s.record(m, not m)
    assert abs(sum(picks[-1_000:]) / 1_000 - RANDOM_SHARE) < 0.05


def test_guided_fuzz_finds_shallow_bugs_exactly_where_plain_fuzz_does() -> None:
    # during the warm-up the guided search draws the very executions plain fuzz draws for the
    # same seed, so a bug random finds early costs guidance nothing
    bug = next(b for b in BUGS if b.name == "read-merge-lowest")
    case = bug.build(True)
    found: dict[bool, list[int]] = {True: [], False: []}
    for guided in (True, False):
        for seed in range(8):
            sim = case.sim()
            with pytest.raises(SimulationFailure):
                sim.fuzz(case.scenario, iterations=WARMUP, seed=seed, guided=guided, shrink=False)
            assert sim.last is not None
            found[guided].append(sim.last.executions + sim.last.pruned)
    assert found[True] == found[False]


def test_final_states_are_features_of_what_each_location_holds_at_the_end() -> None:
    case = quorum_register(None)
    plan = case.sim().plan
    made = instrument(SimInstance)

    def finals(prefix: list[int]) -> tuple[list[int], set[int]]:
        ch = GuidedChooser(prefix, random.Random(0))
        res = run_once(plan, case.scenario, ch, made)
        assert res.status == "ok" and res.instance is not None
        before = set(ch.features)
        final_states(res.instance, ch)
        return ch.values, ch.features - before

    values, f1 = finals([])
    assert 1 <= len(f1) <= 4  # the client and the 3 replicas (members in one state share a feature)
    assert finals(values)[1] == f1  # the same execution: the same states
    seen = set(f1)
    for seed in range(30):  # other executions end with other states (a replica that missed the write)
        ch = GuidedChooser([], random.Random(seed))
        res = run_once(plan, case.scenario, ch, made)
        assert res.instance is not None
        before = set(ch.features)
        final_states(res.instance, ch)
        seen |= ch.features - before
    assert len(seen) > len(f1)


def test_plain_random_fuzz_stays_the_default() -> None:
    bug = next(b for b in BUGS if b.name == "write-quorum-too-small")
    case = bug.build(True)
    with pytest.raises(SimulationFailure) as info:
        case.sim().fuzz(case.scenario, iterations=3_000, seed=2)
    assert "(fuzz seed=2, iteration" in str(info.value) and "coverage-guided" not in str(info.value)
