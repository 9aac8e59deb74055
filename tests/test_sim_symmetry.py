"""Symmetry reduction (``exhaustive(symmetric=[cluster])``): a state is explored once for all the
states that differ from it only by a renaming of interchangeable cluster members.

What is checked: the reduction finds the same bugs and passes the same clean programs as the plain
state cache; it visits exactly one state per orbit of the plain search's states (the canonical
renaming is complete on these programs, not only sound); the scenario's side of the claim is
checked with errors that name the member; a hand-made ``MemberId`` turns the renaming off for the
states that hold one instead of merging states wrongly.
"""

from __future__ import annotations

import itertools
import pickle
import warnings
from typing import Any

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.lang.location import MemberId
from hydrologic.sim import SimulationFailure, SymmetryWarning, _states
from hydrologic.types.errors import UsageError

from seeded_bugs_support import Participants, Replicas, quorum_register, two_phase_commit_counter
from test_paxos_sim import Acceptors, program


class Leader: ...


class Workers: ...


def _echo(n: int, *, hand_made: bool = False) -> tuple[Any, Any, Any]:
    """A leader sends every request to every worker; each worker answers what its tick sees,
    tagged with its own id (or, ``hand_made``, with an id made by hand)."""
    flow = hl.FlowBuilder()
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    inp, reqs = leader.sim_input(int)
    at_w = reqs.broadcast(workers, nondet("every worker gets every request"))
    t = workers.tick()
    batch = at_w.batch(t, nondet("a worker answers what has arrived")).all_ticks()
    if hand_made:
        answers = batch.map(lambda x: (MemberId(0), x * 10))
    else:
        answers = batch.cross_singleton(workers.self_id()).map(lambda e: (e[1], e[0] * 10))
    out = answers.send(leader).values().sim_output()
    sim = flow.sim({Workers: n})
    sim.show_progress = False
    return sim, inp, out


def _echo_scenario(inp: Any, out: Any, n: int) -> Any:
    def scenario() -> None:
        inp.send(1)
        inp.send(2)
        got = out.collect()
        assert sorted(v for _, v in got) == sorted([10, 20] * n), got

    return scenario


# ---- the reduction -----------------------------------------------------------------------------


def _orbits(case_sim: Any, scenario: Any, cluster: Any) -> tuple[int, int]:
    """(distinct states of the plain cached search, orbits of those states under every renaming
    of ``cluster``'s members), by brute force over all permutations."""
    loc = next(l for l in case_sim.graph.locations if l.tag is cluster)
    idxs = case_sim.plan.by_loc[loc.id]
    orbits: dict[bytes, set[bytes]] = {}
    orig = _states.StateTable.visit

    def visit(self: Any, inst: Any, chooser: Any, sleep: Any, fault_point: bool = False) -> bool:
        if len(chooser.values) >= len(chooser.prefix) and not fault_point:
            plain = _states.fingerprint(inst, self._env)
            keys: list[bytes] = []
            for perm in itertools.permutations(range(len(idxs))):
                order = list(range(len(inst.locs)))
                new_of = [0] * len(idxs)
                for j, m in enumerate(perm):
                    order[idxs[j]] = idxs[m]
                    new_of[m] = j
                moved = frozenset(m for j, m in enumerate(perm) if m != j)
                k = _states.fingerprint(inst, self._env, order, {loc.id: tuple(new_of)}, moved)
                assert k is not None
                keys.append(k)
            assert plain is not None
            orbits.setdefault(min(keys), set()).add(plain)
        return orig(self, inst, chooser, sleep, fault_point)

    _states.StateTable.visit = visit  # type: ignore[method-assign]
    try:
        case_sim.exhaustive(scenario, states=True)
    finally:
        _states.StateTable.visit = orig  # type: ignore[method-assign]
    return sum(len(v) for v in orbits.values()), len(orbits)


def test_two_phase_commit_visits_one_state_per_orbit() -> None:
    case = two_phase_commit_counter(None, 2)
    plain_states, orbits = _orbits(case.sim(), case.scenario, Participants)
    sim = case.sim()
    sim.exhaustive(case.scenario, symmetric=[Participants])
    assert sim.last is not None and sim.last.complete and sim.last.states is not None
    assert plain_states == 252 and orbits == 155
    assert len(sim.last.states.seen) == orbits  # the canonical renaming merges every orbit
    assert sim.last.states.renamed > 0 and sim.last.states.untagged == 0


def test_three_participants_need_far_fewer_states() -> None:
    case = two_phase_commit_counter(None, 3)
    sim = case.sim()
    sim.exhaustive(case.scenario, symmetric=[Participants], max_seconds=300)
    assert sim.last is not None and sim.last.complete and sim.last.states is not None
    # 4,111 states without the reduction (tests/test_sim_reach.py, docs/benchmarks.md)
    assert len(sim.last.states.seen) < 4_111 // 3, len(sim.last.states.seen)


def test_paxos_election_with_three_symmetric_acceptors() -> None:
    p = program(2, 3, 1)

    def scenario() -> None:
        p.clock.send(None, member=0)
        p.committed.collect()
        p.commands.send("a", member=0)
        got = p.committed.collect()
        assert sorted(v for (_, v), _m in got) == ["a", "a"], got

    plain = p.sim()
    plain.exhaustive(scenario, states=True)
    sym = p.sim()
    sym.exhaustive(scenario, symmetric=[Acceptors])
    assert plain.last is not None and plain.last.states is not None
    assert sym.last is not None and sym.last.complete and sym.last.states is not None
    assert len(sym.last.states.seen) * 2 < len(plain.last.states.seen)


def test_bugs_are_still_found_and_clean_twins_still_pass() -> None:
    lost = two_phase_commit_counter("lock-released-at-vote", 3)
    sim = lost.sim()
    sim.save_failures = False
    with pytest.raises(SimulationFailure, match="increment"):
        sim.exhaustive(lost.scenario, symmetric=[Participants], max_seconds=120)
    for mutation in ("write-quorum-too-small", "read-quorum-too-small", "read-merge-lowest"):
        bad = quorum_register(mutation)
        s = bad.sim()
        s.save_failures = False
        with pytest.raises(SimulationFailure):
            s.exhaustive(bad.scenario, symmetric=[Replicas], max_seconds=120)
    clean = quorum_register(None)
    s = clean.sim()
    s.exhaustive(clean.scenario, symmetric=[Replicas], max_seconds=120)
    assert s.last is not None and s.last.complete


def test_the_reduction_on_a_small_program_matches_the_plain_search() -> None:
    for n in (2, 3):
        sim, inp, out = _echo(n)
        scen = _echo_scenario(inp, out, n)
        sim.exhaustive(scen, states=True)
        assert sim.last is not None and sim.last.states is not None
        plain = len(sim.last.states.seen)
        sim.exhaustive(scen, symmetric=[Workers])
        assert sim.last.complete and sim.last.states is not None
        assert len(sim.last.states.seen) <= plain


# ---- what the search checks of the claim ----------------------------------------------------------


def test_a_scenario_that_singles_out_a_member_is_refused() -> None:
    flow = hl.FlowBuilder()
    workers = flow.cluster(Workers)
    leader = flow.process(Leader)
    w_in, w = workers.sim_input(int)
    t = workers.tick()
    out = w.batch(t, nondet("a worker takes what arrived")).all_ticks().send(leader).values().sim_output()
    sim = flow.sim({Workers: 3})
    sim.show_progress = False

    def one_member() -> None:
        w_in.send(1, member=1)
        out.collect()

    with pytest.raises(UsageError, match=r"sent 1 \(input built at .*\) to member 1 of Cluster\[Workers\] but nothing to member 0"):
        sim.exhaustive(one_member, symmetric=[Workers])

    def every_member() -> None:
        for m in range(3):
            w_in.send(1, member=m)
        assert sorted(out.collect()) == [1, 1, 1]

    sim.exhaustive(every_member, symmetric=[Workers])
    assert sim.last is not None and sim.last.complete


def _increment_at_each_worker() -> tuple[Any, Any, Any]:
    """Two workers, each adding 1 to what the scenario sends it."""
    flow = hl.FlowBuilder()
    workers = flow.cluster(Workers)
    w_in, w = workers.sim_input(int)
    out = w.map(lambda x: x + 1).sim_output()
    sim = flow.sim({Workers: 2})
    sim.show_progress = False
    return sim, w_in, out


def test_reading_one_of_several_members_outputs_is_refused() -> None:
    sim, w_in, out = _increment_at_each_worker()

    def scenario() -> None:
        for m in range(2):
            w_in.send(1, member=m)
        out.next()

    with pytest.raises(UsageError, match="singles that member out"):
        sim.exhaustive(scenario, symmetric=[Workers])


def test_the_declaration_is_checked_against_the_program() -> None:
    sim, inp, out = _echo(2)
    scen = _echo_scenario(inp, out, 2)
    with pytest.raises(UsageError, match="not a cluster"):
        sim.exhaustive(scen, symmetric=[Leader])
    with pytest.raises(UsageError, match="no location of this program"):
        sim.exhaustive(scen, symmetric=["Nobody"])
    sim.exhaustive(scen, symmetric=["Workers"])  # by name
    assert sim.last is not None and sim.last.complete


def test_round_robin_into_a_symmetric_cluster_is_refused() -> None:
    flow = hl.FlowBuilder()
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    inp, reqs = leader.sim_input(int)
    at_w = reqs.round_robin(workers, nondet("any worker may take a request"))
    out = at_w.send(leader).values().sim_output()
    sim = flow.sim({Workers: 2})
    sim.show_progress = False

    def scenario() -> None:
        inp.send(1)
        out.collect()

    with pytest.raises(UsageError, match="round_robin"):
        sim.exhaustive(scenario, symmetric=[Workers])


def test_a_hand_made_member_id_turns_the_renaming_off_for_its_states() -> None:
    sim, inp, out = _echo(2, hand_made=True)

    def scenario() -> None:
        inp.send(1)
        inp.send(2)
        got = out.collect()
        assert sorted(v for _, v in got) == [10, 10, 20, 20], got

    sim.exhaustive(scenario, symmetric=[Workers])
    assert sim.last is not None and sim.last.complete and sim.last.states is not None
    assert sim.last.states.untagged > 0


# ---- MemberId remembers its cluster -----------------------------------------------------------------


def test_a_runtime_member_id_names_its_cluster_and_equals_a_hand_made_one() -> None:
    m = MemberId.of_cluster(2, 7)
    assert m.cluster_of == 7 and MemberId(2).cluster_of is None
    assert m == MemberId(2) and hash(m) == hash(MemberId(2)) and repr(m) == "MemberId(2)"
    back = pickle.loads(pickle.dumps(m))
    assert back == m and back.cluster_of == 7
    assert pickle.loads(pickle.dumps(MemberId(3))).cluster_of is None


def test_symmetry_with_crashes_and_leaves_but_not_joins() -> None:
    case = two_phase_commit_counter(None, 2)
    sim = case.sim()
    with pytest.raises(UsageError, match="joins="):
        sim.exhaustive(case.scenario, symmetric=[Participants], joins=1)
    plain = two_phase_commit_counter(None, 2).sim()
    plain.save_failures = False
    sym = two_phase_commit_counter(None, 2).sim()
    sym.save_failures = False
    # non-durable participants lose their locks and staged values in a crash: both searches
    # must find that the same way (a failure), the symmetric one no later
    with pytest.raises(SimulationFailure):
        plain.exhaustive(case.scenario, states=True, crashes=1, max_seconds=120)
    with pytest.raises(SimulationFailure):
        sym.exhaustive(case.scenario, symmetric=[Participants], crashes=1, max_seconds=120)


def test_reading_raw_ids_of_symmetric_members_is_reported() -> None:
    # Workers tag their answers with their raw id (an int): the reduction cannot rename it, so
    # the search warns with the line that read it. Keeping the MemberId itself is silent.
    def build(raw: bool) -> tuple[Any, Any]:
        flow = hl.FlowBuilder()
        leader = flow.process(Leader)
        workers = flow.cluster(Workers)
        inp, reqs = leader.sim_input(int)
        at_w = reqs.broadcast(workers, nondet("every worker gets every request"))
        batch = at_w.batch(workers.tick(), nondet("a worker answers what has arrived")).all_ticks()
        if raw:
            answers = batch.cross_singleton(workers.self_id()).map(lambda e: (e[1].raw_id, e[0]))  # the raw read
        else:
            answers = batch.cross_singleton(workers.self_id()).map(lambda e: (e[1], e[0]))
        out = answers.send(leader).values().sim_output()
        sim = flow.sim({Workers: 2})
        sim.show_progress = False

        def scenario() -> None:
            inp.send(1)
            assert len(out.collect()) == 2

        return sim, scenario

    sim, scenario = build(raw=True)
    with pytest.warns(SymmetryWarning, match=r"raw_id.*test_sim_symmetry\.py:\d+") as rec:
        sim.exhaustive(scenario, symmetric=[Workers])
    assert "Keep the MemberId itself" in str(rec[0].message)
    sim, scenario = build(raw=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SymmetryWarning)
        sim.exhaustive(scenario, symmetric=[Workers])
    # outside a symmetric search, ids are plain MemberIds again
    assert type(MemberId.of_cluster(0, 99)) is MemberId


def test_std_paxos_reads_no_raw_acceptor_id_outside_the_runtime() -> None:
    p = program(2, 3, 1)

    def scenario() -> None:
        p.clock.send(None, member=0)
        p.committed.collect()

    with warnings.catch_warnings():
        warnings.simplefilter("error", SymmetryWarning)
        p.sim().exhaustive(scenario, symmetric=[Acceptors])


def test_the_declaration_holds_for_its_search_only() -> None:
    # After a symmetric search, a fuzz run and a plain search of the same Sim treat members as
    # the program does: reading one member's output among several is allowed again.
    sim, w_in, out = _increment_at_each_worker()

    def balanced() -> None:
        for m in range(2):
            w_in.send(1, member=m)
        assert sorted(out.collect()) == [2, 2]

    def one_at_a_time() -> None:
        for m in range(2):
            w_in.send(1, member=m)
        assert out.next() == 2

    sim.exhaustive(balanced, symmetric=[Workers])
    assert sim.fuzz(one_at_a_time, iterations=5, seed=0) == 5
    assert sim.exhaustive(one_at_a_time) >= 1


def test_members_told_apart_by_their_own_state_get_the_key_of_the_full_role_search(monkeypatch: pytest.MonkeyPatch) -> None:
    # When every member's own signature differs, the canonical key is chosen without encoding
    # where else each member occurs; it must be the very key the full role search gives.
    from hydrologic.sim import _symmetry

    case = two_phase_commit_counter(None, 2)
    s = case.sim()
    orig = _states.StateTable.visit
    checked = {"fast": 0, "tied": 0}

    def visit(self: Any, inst: Any, chooser: Any, sleep: Any, fault_point: bool = False) -> bool:
        sym = self.symmetry
        if sym is not None and len(chooser.values) >= len(chooser.prefix):
            blank = {c: (-1,) * len(idxs) for c, idxs in sym.clusters}
            # each from a scan of its own: the full search encodes every part afresh
            fast = _symmetry._distinct_signatures(_states.MemberRoles(self._env, blank, inst), sym)  # pyright: ignore[reportPrivateUsage]
            full = _symmetry._orders_by_roles(_states.MemberRoles(self._env, blank, inst), sym)  # pyright: ignore[reportPrivateUsage]
            if fast is None:
                checked["tied"] += 1
            else:
                checked["fast"] += 1
                assert fast == full
                a = _symmetry._best(inst, sym, self._env, fast)  # pyright: ignore[reportPrivateUsage]
                b = _symmetry._best(inst, sym, self._env, full)  # pyright: ignore[reportPrivateUsage]
                assert a is not None and b is not None and a.key == b.key
        return orig(self, inst, chooser, sleep, fault_point)

    monkeypatch.setattr(_states.StateTable, "visit", visit)
    s.exhaustive(case.scenario, symmetric=[Participants], max_seconds=120)
    assert s.last is not None and s.last.complete
    assert checked["fast"] > 50 and checked["tied"] > 0, checked
