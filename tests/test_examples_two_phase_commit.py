"""examples/two_phase_commit.py: under every explored schedule, every participant applies exactly
the coordinator's decision (including when one participant votes no), conflicting transactions
serialize, and all stores agree; the simulator finds the divergence when locking is removed;
and a deployed run over real processes agrees too."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest

import hydrologic as hl
from examples_support import Deploy, deploy, load_example
from hydrologic.sim import SimulationFailure

__all__ = ["deploy"]

tpc = load_example("two_phase_commit")
Txn = tpc.Txn

X1 = Txn("x1", (("x", "1"),), ())
X2 = Txn("x2", (("x", "2"),), ())
Y = Txn("y", (("y", "1"),), ())


def vetoed(by: int) -> Any:
    return Txn(f"veto{by}", (("y", "2"),), (by,))


Outcome = tuple[tuple[int, bool], ...]


def check_execution(ports: Any, n: int, txns: list[Any]) -> Outcome:
    """Every invariant of one finished execution; returns the decisions (the outcome)."""
    decisions_list = ports.decisions.collect()
    decisions = dict(decisions_list)
    assert len(decisions_list) == len(decisions) == len(txns), f"each transaction decided once: {decisions_list}"
    outcomes = ports.outcomes.collect()
    assert sorted(outcomes) == sorted((t, txns[t].name, c) for t, c in decisions.items()), "outcome != decision"
    for txid, txn in enumerate(txns):
        if txn.refuse:
            assert decisions[txid] is False, f"txn {txid} was refused by {txn.refuse} but committed"
    per_member: dict[int, list[tuple[int, bool, Any]]] = {}
    for member, txid, commit, store in ports.applied.collect():
        assert commit == decisions[txid], f"participant {member} applied {commit} for txn {txid}, coordinator decided {decisions[txid]}"
        per_member.setdefault(member, []).append((txid, commit, store))
    assert sorted(per_member) == list(range(n)), "every participant applied something"
    expected_store: dict[str, str] = {}
    for txid, txn in enumerate(txns):  # committed transactions take effect in txid order
        if decisions[txid]:
            expected_store.update(txn.writes)
    for member, applied in per_member.items():
        assert sorted(t for t, _, _ in applied) == list(range(len(txns))), f"participant {member} applied each decision once"
        assert dict(applied[-1][2]) == expected_store, f"participant {member} ended with {applied[-1][2]}"
    return tuple(sorted(decisions.items()))


def explore(
    n: int, txns: list[Any], *, check: Callable[..., bool] | None = None, fuzz: int = 0
) -> tuple[int, set[Outcome]]:
    flow = hl.FlowBuilder()
    ports = tpc.build_sim(flow, check or tpc.vote)
    seen: set[Outcome] = set()

    def scenario() -> None:
        ports.transactions.send_many(txns)
        seen.add(check_execution(ports, n, txns))

    sim = flow.sim(cluster_sizes={ports.participants: n})
    runs = sim.fuzz(scenario, iterations=fuzz, seed=0) if fuzz else sim.exhaustive(scenario)
    return runs, seen


def test_two_phase_commit_builds_and_lists_its_nondet_sites() -> None:
    flow = hl.FlowBuilder()
    tpc.build(flow)
    flow.build()
    assert [s.op for s in flow.nondet_sites()] == ["broadcast", "broadcast", "batch", "batch"]


def test_conflicting_transactions_one_participant_exhaustive() -> None:
    runs, seen = explore(1, [X1, X2])
    # x2 commits only in the schedules where the participant applied x1's decision first
    assert seen == {((0, True), (1, True)), ((0, True), (1, False))}
    assert runs == 16


def test_a_refusing_participant_aborts_the_transaction_everywhere_exhaustive() -> None:
    runs, seen = explore(1, [X1, vetoed(0), X2])
    assert seen == {((0, True), (1, False), (2, True)), ((0, True), (1, False), (2, False))}
    assert runs == 208


# 28 and 1,332 executions before a unit that was sent nothing stayed asleep (the sleep sets'
# rule of docs/simulator.md): the participants' votes commute with each other's decisions
@pytest.mark.parametrize("n,executions", [(2, 4), (3, 8)])
def test_one_participant_votes_no_every_participant_aborts_exhaustive(n: int, executions: int) -> None:
    runs, seen = explore(n, [vetoed(1)])
    assert seen == {((0, False),)}
    assert runs == executions


def test_a_user_vote_function_can_refuse_exhaustive() -> None:
    def no_from_member_1_on_txn_0(member: Any, txid: int, txn: Any) -> bool:
        return not (member.raw_id == 1 and txid == 0)

    runs, seen = explore(2, [X1], check=no_from_member_1_on_txn_0)
    assert seen == {((0, False),)} and runs == 4


def test_all_yes_commits_everywhere_exhaustive() -> None:
    runs, seen = explore(2, [X1])
    assert seen == {((0, True),)} and runs == 4


def test_conflicts_on_two_participants_fuzzed() -> None:
    # exhaustive is 7,368 executions here (about 20 s); a seeded fuzz covers both outcomes
    runs, seen = explore(2, [X1, X2], fuzz=200)
    assert seen == {((0, True), (1, True)), ((0, True), (1, False))}
    assert runs == 200


def test_conflicts_and_a_veto_on_three_participants_fuzzed() -> None:
    runs, seen = explore(3, [X1, vetoed(2), X2, Y], fuzz=150)
    assert all(o[0] == (0, True) and o[1] == (1, False) for o in seen)
    assert runs == 150


def test_without_locks_the_simulator_finds_diverging_stores() -> None:
    flow = hl.FlowBuilder()
    ports = tpc.build_sim(flow, locking=False)

    def scenario() -> None:
        ports.transactions.send_many([X1, X2])
        check_execution(ports, 2, [X1, X2])

    sim = flow.sim(cluster_sizes={ports.participants: 2})
    with pytest.raises(SimulationFailure) as info:
        sim.exhaustive(scenario)
    msg = str(info.value)
    assert "ended with" in msg and "a decision may be applied in any tick" in msg
    assert sim.last is not None and sim.last.executions < 50


@pytest.mark.timeout(60)
def test_two_phase_commit_deployed_on_three_participants(deploy: Deploy) -> None:
    n = 3
    d = deploy("two_phase_commit", {"Participants": n})
    decided: dict[int, str] = {}
    with d.output("outcomes") as outcomes, d.output("applied") as applied, d.input("transactions") as inp:
        time.sleep(0.1)
        inp.send({"name": "set x", "writes": {"x": "1"}})
        assert outcomes.take(1, timeout=20) == [[0, "set x", "commit"]]
        inp.send({"name": "refused", "writes": {"y": "1"}, "refuse": [1]})
        assert outcomes.take(1, timeout=20) == [[1, "refused", "abort"]]
        inp.send({"bad": "no writes"})  # malformed: dropped, takes no txid
        burst = [{"name": f"b{i}", "writes": {"x": str(i), f"k{i}": "v"}} for i in range(6)]
        inp.send_many(burst)  # concurrent, conflicting on x
        for txid, name, outcome in outcomes.take(len(burst), timeout=20):
            decided[txid] = outcome
            assert name == f"b{txid - 2}"
        assert decided[2] == "commit"  # nothing held x's lock when the first of the burst arrived
        events = applied.take(n * (2 + len(burst)), timeout=20)
    decided.update({0: "commit", 1: "abort"})
    by_member: dict[int, dict[int, str]] = {}
    for member, txid, outcome in events:
        assert txid not in by_member.setdefault(member, {}), "applied twice"
        by_member[member][txid] = outcome
    assert by_member == {m: decided for m in range(n)}  # every participant agrees with the coordinator
