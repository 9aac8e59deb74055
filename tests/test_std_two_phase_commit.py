"""hydrologic.std.two_phase_commit: vote collection, acknowledgement collection, and the
protocol with the simplest (stateless) participant, in-process and in the simulator."""

from __future__ import annotations

from typing import Any

import hydrologic as hl
from hydrologic import MemberId, nondet
from hydrologic.std.two_phase_commit import all_responded, stateless_votes, two_phase_commit, unanimous


class Coordinator: ...


class Participants: ...


def test_unanimous_decides_once_every_voter_has_voted() -> None:
    flow = hl.FlowBuilder()
    coord = flow.process(Coordinator)
    parts = flow.cluster(Participants)
    inp, votes = coord.sim_input(tuple)
    keyed = votes.weaken_ordering().map(lambda v: (v[0], (MemberId[Participants](v[1]), v[2]))).into_keyed()
    out = unanimous(keyed, coord.cluster_members(parts)).sim_output()
    flow.require(no_nondet=True)  # monotone facts: no nondet site needed
    with flow.run_in_process(cluster_sizes={Participants: 3}):
        inp.send_many([("t1", 0, True), ("t1", 1, True), ("t2", 0, False)])
        assert out.collect() == []  # not everyone has voted on anything yet
        inp.send_many([("t1", 2, True), ("t2", 1, True)])
        assert out.collect() == [("t1", True)]
        inp.send_many([("t2", 2, True), ("t1", 2, True)])  # a duplicated vote changes nothing
        assert out.collect() == [("t2", False)]


def test_all_responded_releases_each_key_once() -> None:
    flow = hl.FlowBuilder()
    coord = flow.process(Coordinator)
    parts = flow.cluster(Participants)
    inp, acks = coord.sim_input(tuple)
    keyed = acks.weaken_ordering().map(lambda a: (a[0], MemberId[Participants](a[1]))).into_keyed()
    out = all_responded(keyed, coord.cluster_members(parts)).sim_output()
    with flow.run_in_process(cluster_sizes={Participants: 2}):
        inp.send_many([("a", 0), ("a", 0), ("b", 1)])
        assert out.collect() == []  # member 0 twice is still one member
        inp.send_many([("a", 1), ("b", 0), ("a", 1)])
        assert sorted(out.collect()) == ["a", "b"]


def stateless_program(veto: tuple[int, str] | None) -> tuple[hl.FlowBuilder, Any, Any, Any, Any]:
    flow = hl.FlowBuilder()
    coord = flow.process(Coordinator)
    parts = flow.cluster(Participants)
    inp, txns = coord.sim_input(tuple)

    def vote(member: MemberId[Participants], txid: str, payload: str) -> bool:
        del payload
        return veto is None or (member.raw_id, txid) != veto

    tpc = two_phase_commit(coord, parts, txns, stateless_votes(vote), nondet("static membership in tests"))
    delivered = tpc.delivered.cross_singleton(parts.self_id()).map(lambda d: (d[1].raw_id, d[0][0], d[0][1]))
    return flow, inp, tpc.decisions.sim_output(), tpc.outcomes.sim_output(), delivered.sim_output()


def test_two_phase_commit_with_stateless_participants_in_process() -> None:
    flow, inp, decisions, outcomes, delivered = stateless_program(veto=(1, "t2"))
    with flow.run_in_process(cluster_sizes={Participants: 3}):
        inp.send_many([("t1", "x"), ("t2", "y")])
        assert sorted(decisions.collect()) == [("t1", True), ("t2", False)]
        assert sorted(outcomes.collect()) == [("t1", True), ("t2", False)]
        assert sorted(delivered.collect()) == sorted((m, t, t == "t1") for m in range(3) for t in ("t1", "t2"))


def test_two_phase_commit_with_stateless_participants_has_one_behaviour() -> None:
    # Every coordinator-side fact is monotone, and broadcast membership is static in the
    # simulator: with participants that do not batch, there is exactly one execution.
    flow, inp, decisions, outcomes, delivered = stateless_program(veto=(2, "t1"))

    def scenario() -> None:
        inp.send_many([("t1", "x"), ("t2", "y")])
        assert sorted(outcomes.collect()) == [("t1", False), ("t2", True)]
        assert sorted(decisions.collect()) == [("t1", False), ("t2", True)]
        assert sorted(delivered.collect()) == sorted((m, t, t == "t2") for m in range(3) for t in ("t1", "t2"))

    assert flow.sim(cluster_sizes={Participants: 3}).exhaustive(scenario) == 1
