"""hydrologic.std.two_phase_commit with ``durable=``: votes and decisions are logged, so the
coordinator and the participants may crash and restart.

In process it decides as the in-memory protocol does; in the simulator, with crashes and restarts
as simulator choices, no participant ever learns a decision different from another's or from the
coordinator's, and a vetoed transaction never commits. The seeded bug is the same protocol with
the coordinator's decision log kept in memory (a decision sent without being durably logged):
the simulator finds two participants that disagree, while its durable twin passes the same search.
"""

from __future__ import annotations

from typing import Any

import pytest

import hydrologic as hl
from hydrologic import MemberId, nondet
from hydrologic.sim import SimulationFailure
from hydrologic.std.two_phase_commit import DurableLogs, logged_two_phase_commit, stateless_votes, two_phase_commit


class Coordinator: ...


class Participants: ...


Ports = tuple[hl.FlowBuilder, Any, Any, Any, Any]


def program(logs: DurableLogs | str, veto: tuple[int, str] | None = None) -> Ports:
    """Stateless participants that vote yes unless ``veto`` names (member, txid); the ports are
    the transactions, the coordinator's decisions and outcomes, and each member's delivered
    decisions as (member, txid, commit?)."""
    flow = hl.FlowBuilder()
    coord = flow.process(Coordinator)
    parts = flow.cluster(Participants)
    inp, txns = coord.sim_input(tuple)

    def vote(member: MemberId[Participants], txid: str, payload: str) -> bool:
        del payload
        return veto is None or (member.raw_id, txid) != veto

    static = nondet("static membership in tests")
    if isinstance(logs, str):
        tpc = two_phase_commit(coord, parts, txns, stateless_votes(vote), static, durable=logs)
    else:
        tpc = logged_two_phase_commit(coord, parts, txns, stateless_votes(vote), static, logs)
    delivered = tpc.delivered.cross_singleton(parts.self_id()).map(lambda d: (d[1].raw_id, d[0][0], d[0][1]))
    return flow, inp, tpc.decisions.sim_output(), tpc.outcomes.sim_output(), delivered.sim_output()


def check_atomic(decided: list[tuple[str, bool]], delivered: list[tuple[int, str, bool]], vetoed: set[str]) -> None:
    """Atomicity: one decision per transaction, everywhere; a vetoed transaction never commits."""
    by_txn: dict[str, set[bool]] = {}
    for txid, commit in decided:
        by_txn.setdefault(txid, set()).add(commit)
    for member, txid, commit in delivered:
        by_txn.setdefault(txid, set()).add(commit)
    split = {t: v for t, v in by_txn.items() if len(v) > 1}
    assert not split, f"participants disagree: {sorted(delivered)} (coordinator decided {sorted(decided)})"
    assert not any(by_txn.get(t) == {True} for t in vetoed), f"a vetoed transaction committed: {sorted(delivered)}"


def crash_scenario(ports: Ports, vetoed: set[str]) -> Any:
    """One transaction (two with a veto); time passes twice, so participants in doubt ask twice."""
    _, inp, decisions, _, delivered = ports

    def scenario() -> None:
        inp.send_many([("t1", "x")] + ([("t2", "y")] if vetoed else []))
        decided = decisions.collect()
        hl.advance_time(1.0)
        decided += decisions.collect()
        hl.advance_time(1.0)
        decided += decisions.collect()
        check_atomic(decided, delivered.collect(), vetoed)

    return scenario


def test_durable_two_phase_commit_decides_like_the_in_memory_one_in_process() -> None:
    flow, inp, decisions, outcomes, delivered = program("tpc", veto=(1, "t2"))
    with flow.run_in_process(cluster_sizes={Participants: 3}):
        inp.send_many([("t1", "x"), ("t2", "y")])
        assert sorted(decisions.collect()) == [("t1", True), ("t2", False)]
        assert sorted(outcomes.collect()) == [("t1", True), ("t2", False)]
        assert sorted(delivered.collect()) == sorted((m, t, t == "t1") for m in range(3) for t in ("t1", "t2"))


def test_the_durable_protocol_names_its_logs_and_allows_restarts() -> None:
    flow = program("tpc")[0]
    graph = flow.build()
    durable = sorted(str(n.params["durable"]) for n in graph.nodes if n.params.get("durable"))
    assert durable == ["tpc.decided", "tpc.decisions", "tpc.votes"]
    assert not any(loc.no_restart for loc in graph.locations)
    # The in-memory protocol forbids restarts of both locations.
    flow2 = hl.FlowBuilder()
    coord, parts = flow2.process(Coordinator), flow2.cluster(Participants)
    two_phase_commit(coord, parts, coord.sim_input(tuple)[1], stateless_votes(lambda m, t, x: True), nondet("static"))
    assert sum(1 for loc in flow2.build().locations if loc.no_restart) == 2


def silent_member_program(abort_after: int | None) -> Ports:
    """Member 1's logic never sends a vote (as if it had crashed before voting)."""
    flow = hl.FlowBuilder()
    coord = flow.process(Coordinator)
    parts = flow.cluster(Participants)
    inp, txns = coord.sim_input(tuple)
    inner = stateless_votes(lambda m, t, x: True)

    def silent_member_1(ps: Any, prepares: Any, decisions: Any) -> Any:
        votes, acks = inner(ps, prepares, decisions)
        me = ps.self_id()
        return votes.cross_singleton(me).filter(lambda v: v[1].raw_id != 1).map(lambda v: v[0]), acks

    tpc = two_phase_commit(
        coord, parts, txns, silent_member_1, nondet("static"), durable="tpc", retry_every=5.0, abort_after=abort_after
    )
    delivered = tpc.delivered.cross_singleton(parts.self_id()).map(lambda d: (d[1].raw_id, d[0][0], d[0][1]))
    return flow, inp, tpc.decisions.sim_output(), tpc.outcomes.sim_output(), delivered.sim_output()


def test_an_ask_about_a_transaction_still_collecting_votes_waits_for_them_in_process() -> None:
    # Member 0 voted yes and asks every period; the coordinator knows t1 (it is collecting its
    # votes), so with no limit an ask neither decides nor aborts it: t1 waits for member 1.
    flow, inp, decisions, _, delivered = silent_member_program(abort_after=None)
    with flow.run_in_process(cluster_sizes={Participants: 2}):
        inp.send(("t1", "x"))
        for _ in range(6):
            hl.advance_time(5.0)
            assert decisions.collect() == [] and delivered.collect() == []


def test_a_vote_that_never_comes_aborts_the_transaction_after_abort_after_asks_in_process() -> None:
    flow, inp, decisions, _, delivered = silent_member_program(abort_after=3)
    with flow.run_in_process(cluster_sizes={Participants: 2}):
        inp.send(("t1", "x"))
        for _ in range(2):  # two asks: still waiting
            hl.advance_time(5.0)
            assert decisions.collect() == [] and delivered.collect() == []
        hl.advance_time(5.0)  # the third ask: the coordinator gives up on member 1's vote
        assert decisions.collect() == [("t1", False)]
        assert sorted(delivered.collect()) == [(0, "t1", False), (1, "t1", False)]


@pytest.mark.parametrize("vetoed", [set(), {"t2"}])
def test_with_crashes_atomicity_holds_for_the_durable_protocol_fuzzed(vetoed: set[str]) -> None:
    ports = program("tpc", veto=(0, "t2") if vetoed else None)
    sim = ports[0].sim(cluster_sizes={Participants: 2})
    assert sim.fuzz(crash_scenario(ports, vetoed), crashes=2, iterations=1500, seed=7) == 1500


def test_coordinator_crashes_and_restarts_keep_atomicity_fuzzed() -> None:
    # The whole space is millions of executions even with one coordinator crash (every snapshot
    # version and timer tick of two participants): sampled, with every crash on the coordinator.
    ports = program("tpc")
    sim = ports[0].sim(cluster_sizes={Participants: 2})
    sim.faults(crashes=2, locations=[Coordinator])
    assert sim.fuzz(crash_scenario(ports, set()), iterations=1500, seed=3) == 1500


def test_a_decision_log_kept_in_memory_is_caught_by_the_simulator() -> None:
    ports = program(DurableLogs(None, "tpc.votes", "tpc.decided"))
    sim = ports[0].sim(cluster_sizes={Participants: 2})
    with pytest.raises(SimulationFailure) as info:
        sim.fuzz(crash_scenario(ports, set()), crashes=2, iterations=1500, seed=7)
    text = str(info.value)
    assert "participants disagree" in text
    assert "crash Process[Coordinator]" in text and "restart Process[Coordinator]" in text


@pytest.mark.parametrize(
    "kwargs,needs",
    [
        ({"durable": ""}, "durable= as a non-empty name"),
        ({"durable": "tpc", "retry_every": 0}, "retry_every > 0"),
        ({"durable": "tpc", "abort_after": 0}, "abort_after >= 1"),
    ],
)
def test_bad_durable_arguments_are_hl501_at_the_callers_line(kwargs: dict[str, Any], needs: str) -> None:
    flow = hl.FlowBuilder()
    coord, parts = flow.process(Coordinator), flow.cluster(Participants)
    txns = coord.sim_input(tuple)[1]
    with pytest.raises(hl.UsageError, match=needs) as e:
        two_phase_commit(coord, parts, txns, stateless_votes(lambda m, t, x: True), nondet("static"), **kwargs)
    assert e.value.code == "HL501" and "test_std_two_phase_commit_durable.py" in str(e.value.site)
