"""A search that goes back to recorded states inside a driver call (``sim/_rewind.py``) explores
exactly what the search that replays every execution from the start explores.

Rewinding changes only how an execution reaches its branch, so both searches must run the same
executions, prune the same ones and visit the same states, in the same order: every test here
runs a search both ways and compares the counts exactly, and where the scenario reports
outcomes, the outcome sets too."""

from __future__ import annotations

from typing import Any, Callable, cast

import pytest

import hydrologic as hl
from hydrologic.sim import SimulationFailure
from hydrologic.sim import _repro as repro, _rewind

from seeded_bugs_support import Participants, two_phase_commit_counter
from test_paxos_sim import Acceptors, program, race_scenario


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many pruned executions went back instead of ending (one list cell, updated)."""
    went_back = [0]
    original = _rewind.Rewinder.rewind

    def rewind(self: _rewind.Rewinder) -> bool:
        ok = original(self)
        went_back[0] += ok
        return ok

    monkeypatch.setattr(_rewind.Rewinder, "rewind", rewind)
    return went_back


def _search(monkeypatch: pytest.MonkeyPatch, rewind: bool, search: Callable[[], Any]) -> tuple[int, int, int]:
    monkeypatch.setattr(_rewind, "REWIND", rewind)
    stats = search()
    assert stats.complete
    return stats.executions, stats.pruned, stats.states.distinct


def _both(monkeypatch: pytest.MonkeyPatch, search: Callable[[], Any]) -> tuple[int, int, int]:
    went_back = _counting(monkeypatch)
    plain = _search(monkeypatch, False, search)
    assert went_back[0] == 0
    rewound = _search(monkeypatch, True, search)
    assert rewound == plain, (rewound, plain)
    assert went_back[0] > rewound[1] // 2, (went_back[0], rewound)  # most pruned executions went back
    return rewound


def test_two_phase_commit_explores_the_same_states(monkeypatch: pytest.MonkeyPatch) -> None:
    case = two_phase_commit_counter(None, 2)

    def search() -> Any:
        sim = case.sim()
        sim.exhaustive(case.scenario, states=True, max_seconds=300)
        return sim.last

    executions, pruned, states = _both(monkeypatch, search)
    assert states == 252 and pruned > executions


def test_symmetric_two_phase_commit_with_three_participants(monkeypatch: pytest.MonkeyPatch) -> None:
    case = two_phase_commit_counter(None, 3)

    def search() -> Any:
        sim = case.sim()
        sim.exhaustive(case.scenario, symmetric=[Participants], max_seconds=300)
        return sim.last

    _executions, _pruned, states = _both(monkeypatch, search)
    assert 700 <= states <= 730, states


def _race_outcome(p: Any) -> frozenset[Any]:
    """The leader-change race of ``tests/test_paxos_sim.py``; what was committed, by whom."""
    p.clock.send(None, member=0)
    p.committed.collect()
    p.commands.send("a", member=0)
    p.clock.send(None, member=1)
    p.commands.send("b", member=1)
    return frozenset((e, m.raw_id) for e, m in p.committed.collect())


def test_paxos_leader_change_with_one_acceptor_sees_the_same_outcomes(monkeypatch: pytest.MonkeyPatch) -> None:
    p = program(2, 1, 0)
    seen: dict[bool, set[Any]] = {False: set(), True: set()}
    mode = [False]

    def scenario() -> None:
        seen[mode[0]].add(_race_outcome(p))

    def search() -> Any:
        sim = p.sim()
        sim.exhaustive(scenario, states=True, max_seconds=300)
        return sim.last

    went_back = _counting(monkeypatch)
    plain = _search(monkeypatch, False, search)
    mode[0] = True
    rewound = _search(monkeypatch, True, search)
    assert rewound == plain and went_back[0] > 0
    assert seen[True] == seen[False] and len(seen[True]) >= 2


def test_a_failure_found_after_going_back_replays_from_its_token(monkeypatch: pytest.MonkeyPatch) -> None:
    # The failing execution reached its branch by going back to a recorded state; its decisions
    # and trace must be those of a plain execution, so that its token replays it from the start.
    monkeypatch.setenv(repro.ENV, "off")  # a failure this test makes on purpose: no reproducer file
    p = program(2, 1, 0)
    monkeypatch.setattr(_rewind, "REWIND", False)
    scenario = last_outcome_fails(p)
    monkeypatch.setattr(_rewind, "REWIND", True)
    went_back = _counting(monkeypatch)
    with pytest.raises(SimulationFailure) as info:
        p.sim().exhaustive(scenario, states=True, max_seconds=300)
    assert went_back[0] > 0
    assert "the outcome" in str(info.value.original)
    assert_replays_from_token(p, scenario, info.value)


def _counting_forwards(monkeypatch: pytest.MonkeyPatch, flag: list[bool] | None = None) -> list[int]:
    """How many times an execution that started over went forward to a carried state; ``flag``
    (one cell) is set at each."""
    forwards = [0]
    original = _rewind.Rewinder._forward  # pyright: ignore[reportPrivateUsage]

    def forward(self: _rewind.Rewinder, s: Any) -> None:
        forwards[0] += 1
        if flag is not None:
            flag[0] = True
        original(self, s)

    monkeypatch.setattr(_rewind.Rewinder, "_forward", forward)
    return forwards


def test_an_execution_that_starts_over_goes_forward_and_explores_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    # Going forward to a state an earlier execution recorded (``_rewind.Carry``) changes only how
    # an execution that starts over reaches its branch: the same executions, states and outcomes.
    forwards = _counting_forwards(monkeypatch)
    case = two_phase_commit_counter(None, 2)
    p = program(2, 1, 0)
    seen: dict[bool, set[Any]] = {False: set(), True: set()}
    got: dict[bool, list[tuple[int, int, int]]] = {}
    for carry in (False, True):
        monkeypatch.setattr(_rewind, "CARRY", carry)
        before = forwards[0]
        sim = case.sim()
        sim.exhaustive(case.scenario, states=True, max_seconds=300)
        race = p.sim()
        race.exhaustive(lambda: seen[carry].add(_race_outcome(p)), states=True, max_seconds=300)
        got[carry] = [_counts(sim.last), _counts(race.last)]
        assert (forwards[0] > before) == carry
    assert got[True] == got[False] and got[True][0] == (11, 290, 252)
    assert seen[True] == seen[False] and len(seen[True]) >= 2


def _counts(stats: Any) -> tuple[int, int, int]:
    assert stats is not None and stats.complete
    return stats.executions, stats.pruned, stats.states.distinct


def test_a_failure_found_after_going_forward_replays_from_its_token(monkeypatch: pytest.MonkeyPatch) -> None:
    # An execution that went forward fails (the first to end after going forward, found by a
    # first search, fails the second by its decisions): its decisions and its trace, rebuilt from
    # the steps of the execution that recorded the state, must be those of a plain replay.
    from hydrologic.lang.io import current_driver

    monkeypatch.setenv(repro.ENV, "off")  # a failure this test makes on purpose: no reproducer file
    p = program(2, 1, 0)
    went = [False]
    _counting_forwards(monkeypatch, went)
    target: list[list[int]] = []

    def decisions() -> list[int]:
        return list(cast(Any, current_driver()).decider.chooser.values)

    def find() -> None:
        went[0] = False
        _race_outcome(p)
        if went[0] and not target:
            target.append(decisions())

    p.sim().exhaustive(find, states=True, max_seconds=300)
    assert target

    def scenario() -> None:
        went[0] = False
        _race_outcome(p)
        assert decisions() != target[0], "the execution that went forward"

    with pytest.raises(SimulationFailure) as info:
        p.sim().exhaustive(scenario, states=True, max_seconds=300)
    assert went[0] and "went forward" in str(info.value.original)
    assert_replays_from_token(p, scenario, info.value)


def last_outcome_fails(p: Any) -> Callable[[], None]:
    """The one-acceptor race, failing on the outcome that a first, complete search (run here, with
    the settings of the moment) meets last, well after the first executions: a "bug" that a
    search finds deep in its tree."""
    order: list[frozenset[Any]] = []
    bad: list[frozenset[Any]] = []

    def scenario() -> None:
        got = _race_outcome(p)
        if got not in order:
            order.append(got)
        assert got not in bad, f"the outcome {sorted(got)}"

    p.sim().exhaustive(scenario, states=True, max_seconds=300)
    assert len(order) >= 2
    bad.append(order[-1])
    return scenario


def assert_replays_from_token(p: Any, scenario: Callable[[], None], failure: SimulationFailure) -> None:
    """Replaying ``failure``'s token from the start fails the same way, by the same decisions and
    the same trace."""
    with pytest.raises(SimulationFailure) as again:
        p.sim().replay(scenario, failure.token)
    assert str(again.value.original) == str(failure.original)
    assert again.value.values == failure.values
    assert _steps(str(again.value)) == _steps(str(failure)) != []


def _steps(report: str) -> list[str]:
    """The numbered steps of a failure's trace and their notes."""
    trace = report.split("Its trace", 1)[1].split("then the scenario failed", 1)[0]
    return trace.splitlines()[1:]


def test_the_race_with_three_acceptors_goes_back_within_the_final_collect(monkeypatch: pytest.MonkeyPatch) -> None:
    # The f = 1 race does not finish in a test's time; a few seconds of it, both ways, must
    # visit the same first states in the same order (the DFS order is the same).
    p = program(2, 3, 1)
    went_back = _counting(monkeypatch)
    firsts: dict[bool, list[bytes]] = {}
    for rewind in (False, True):
        monkeypatch.setattr(_rewind, "REWIND", rewind)
        sim = p.sim()
        with pytest.raises(hl.sim.ExplorationLimitError):
            sim.exhaustive(race_scenario(p), symmetric=[Acceptors], max_executions=40, max_seconds=600)
        assert sim.last is not None and sim.last.states is not None
        firsts[rewind] = list(sim.last.states.seen)
    assert went_back[0] > 100
    n = min(len(firsts[True]), len(firsts[False]))
    assert n >= 300 and firsts[True][:n] == firsts[False][:n]


def test_keys_made_from_cached_parts_equal_keys_made_from_scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    # The state key keeps each location's encoded part by the location's stamp (a step renews
    # the stamps of the instances it may change, a driver call all of them) and encodes again
    # only the rest. Over every key of three searches (plain and symmetric, with rewinding), the
    # key from cached parts must be the key encoded from scratch.
    from hydrologic.sim import _states, _symmetry

    compared = [0, 0]
    plain_fp, canonical = _states.fingerprint, _symmetry.canonical_key

    def fingerprint(inst: Any, env: Any = None, *args: Any, cache: Any = None, **kw: Any) -> Any:
        key = plain_fp(inst, env, *args, cache=cache, **kw)
        if cache is not None:
            compared[0] += 1
            assert key == plain_fp(inst, env, *args, **kw)
        return key

    def canonical_key(inst: Any, sym: Any, env: Any, cache: Any = None) -> Any:
        c = canonical(inst, sym, env, cache)
        if cache is not None:
            compared[1] += 1
            again = canonical(inst, sym, env, None)
            assert (c is None and again is None) or (c is not None and again is not None and c.key == again.key)
        return c

    monkeypatch.setattr(_states, "fingerprint", fingerprint)
    monkeypatch.setattr(_symmetry, "canonical_key", canonical_key)
    case = two_phase_commit_counter(None, 2)
    case.sim().exhaustive(case.scenario, states=True, max_seconds=300)
    case3 = two_phase_commit_counter(None, 3)
    case3.sim().exhaustive(case3.scenario, symmetric=[Participants], max_seconds=300)
    p = program(2, 3, 1)
    with pytest.raises(hl.sim.ExplorationLimitError):
        p.sim().exhaustive(race_scenario(p), symmetric=[Acceptors], max_executions=20, max_seconds=600)
    assert compared[0] > 300 and compared[1] > 2_000, compared


def test_a_state_recorded_in_parts_comes_back_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # A recorded state keeps each location's part from the state recorded before when the
    # location's stamp did not change, and putting a state back restores only the locations
    # whose stamp differs (``_rewind._Parts``). Every state put back, going back or going
    # forward, must have the key it had when it was recorded; only the locations the steps since
    # the last record changed are recorded again; and a state is recorded only at a pick with
    # a choice to come back for.
    from hydrologic.sim import _reuse
    from hydrologic.sim._states import fingerprint

    keys: dict[int, tuple[Any, Any, bytes | None]] = {}
    checked = [0]
    recorded = {"locations": 0, "saves": 0}
    original_save, original_restore = _rewind.Rewinder.save, _rewind._Parts.restore  # pyright: ignore[reportPrivateUsage]
    record = _reuse.record
    awake_at_save: list[int] = []

    def save(self: _rewind.Rewinder) -> None:
        before = len(self.saved)
        original_save(self)
        if len(self.saved) > before:
            image = self.saved[-1].image
            keys[id(image)] = (image, self.inst, fingerprint(self.inst))
            recorded["saves"] += 1
            sched = self.inst.scheduler
            cands, comp = sched.runnable(None), sched.plan.component
            awake_at_save.append(len([u for u in cands if comp[u[0]] == comp[cands[0][0]] and u not in sched.sleep]))

    def restore(self: Any, locs: Any) -> None:
        original_restore(self, locs)
        image, inst, key = keys[id(self)]
        assert image is self and fingerprint(inst) == key
        checked[0] += 1

    def counting_record(root: Any, *args: Any, **kw: Any) -> None:
        if type(root).__name__ == "SimLocation":
            recorded["locations"] += 1
        record(root, *args, **kw)

    monkeypatch.setattr(_rewind.Rewinder, "save", save)
    monkeypatch.setattr(_rewind._Parts, "restore", restore)  # pyright: ignore[reportPrivateUsage]
    monkeypatch.setattr(_rewind, "record", counting_record)
    case = two_phase_commit_counter(None, 3)
    case.sim().exhaustive(case.scenario, symmetric=[Participants], max_seconds=300)
    p = program(2, 3, 1)
    with pytest.raises(hl.sim.ExplorationLimitError):
        p.sim().exhaustive(race_scenario(p), symmetric=[Acceptors], max_executions=40, max_seconds=600)
    assert checked[0] > 1_000, checked
    locations_per_state = recorded["locations"] / recorded["saves"]
    assert 1 <= locations_per_state < 3, recorded  # the race has 5 locations, 2PC x 3 has 4
    assert min(awake_at_save) >= 2, "a state recorded at a pick with nothing else to choose"
