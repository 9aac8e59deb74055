"""Crash semantics in the simulator, and the seeded bug they exist to catch.

A single-decree Paxos acceptor that keeps its promise only in memory can, after a crash and a
restart, accept a proposal it promised to refuse, and two values get chosen. The simulator,
given one crash (``crashes=1``), finds that schedule; the same acceptor with its state in a
durable scan passes the exhaustive search. The proposers are the scenario: two of them, ballots
1 and 2, interleaved so that without a crash exactly one value is chosen.
"""

from __future__ import annotations

from typing import Any

import pytest

import hydrologic as hl
from hydrologic import Liveness, nondet
from hydrologic.sim import SimulationFailure


class Acceptors: ...


class Watcher: ...


Msg = tuple[Any, ...]  # ("prepare", ballot) | ("accept", ballot, value)
State = tuple[int, "tuple[int, str] | None", "tuple[Any, ...]"]  # promised, accepted, this step's reply


def _step(me: int, st: State, msg: Msg) -> State:
    promised, accepted, _ = st
    if msg[0] == "prepare":
        b = msg[1]
        if b > promised:
            return (b, accepted, ("promise", me, b, accepted))
        return (promised, accepted, ("nack", me, b))
    b, v = msg[1], msg[2]
    if b >= promised:
        return (b, (b, v), ("accepted", me, b, v))
    return (promised, accepted, ("nack", me, b))


def _acceptors(flow: hl.FlowBuilder, durable: bool, forbid_restart: bool = False) -> tuple[Any, Any]:
    acceptors = flow.cluster(Acceptors)
    if forbid_restart:
        acceptors.forbid_restart("test: the promise lives in memory only")
    port, msgs = acceptors.sim_input(tuple)
    me = acceptors.self_id().map(lambda m: m.raw_id)
    steps = msgs.cross_singleton(me).scan(
        lambda: (0, None, ()),
        lambda st, mm: _step(mm[1], st, mm[0]),
        durable="acceptor" if durable else None,
    )
    return port, steps.map(lambda st: st[2]).sim_output()


def _two_proposers(port: Any, out: Any) -> None:
    """Proposer 1 prepares with a quorum {0, 1}; proposer 2 prepares with {1, 2}; then proposer 1
    asks {0, 1} to accept "one", proposer 2 asks {1, 2} to accept its value. Acceptor 1 promised
    ballot 2 before proposer 1's accept reaches it, so it must refuse that accept."""
    for m in (0, 1):
        port.send(("prepare", 1), member=m)
    for m in (1, 2):
        port.send(("prepare", 2), member=m)
    replies = out.collect()
    promises = {(r[1], r[2]): r[3] for r in replies if r[0] == "promise"}
    if all((m, 1) in promises for m in (0, 1)):
        for m in (0, 1):
            port.send(("accept", 1, "one"), member=m)
    if all((m, 2) in promises for m in (1, 2)):
        prior = [promises[(m, 2)] for m in (1, 2) if promises[(m, 2)] is not None]
        value = max(prior)[1] if prior else "two"  # Paxos: adopt the highest accepted value
        for m in (1, 2):
            port.send(("accept", 2, value), member=m)
    accepted = [r for r in replies + out.collect() if r[0] == "accepted"]
    votes: dict[tuple[int, str], set[int]] = {}
    for _, m, b, v in accepted:
        votes.setdefault((b, v), set()).add(m)
    chosen = {v for (_, v), ms in votes.items() if len(ms) >= 2}
    assert len(chosen) <= 1, f"two values chosen: {sorted(chosen)} (votes {votes})"


def _sim(durable: bool) -> tuple[hl.Sim, Any]:
    flow = hl.FlowBuilder()
    port, out = _acceptors(flow, durable)
    return flow.sim({Acceptors: 3}), (lambda: _two_proposers(port, out))


@pytest.mark.parametrize("durable", [False, True])
def test_without_crashes_one_value_is_chosen(durable: bool) -> None:
    sim, scenario = _sim(durable)
    assert sim.exhaustive(scenario) == 1  # no nondet site: the budget 0 adds no decision


def test_an_acceptor_that_keeps_its_promise_in_memory_is_caught_with_one_crash() -> None:
    sim, scenario = _sim(durable=False)
    with pytest.raises(SimulationFailure) as e:
        sim.exhaustive(scenario, crashes=1)
    text = str(e.value)
    assert "two values chosen: ['one', 'two']" in text
    assert "crash Cluster[Acceptors]/1 before the input" in text and "restart Cluster[Acceptors]/1" in text
    # The token replays the failure under the same budget.
    with pytest.raises(SimulationFailure):
        sim.replay(scenario, e.value.token)


def test_the_same_acceptor_with_a_durable_promise_passes_every_crash_schedule() -> None:
    sim, scenario = _sim(durable=True)
    n = sim.exhaustive(scenario, crashes=1)
    assert n > 20 and sim.last is not None and sim.last.complete
    assert sim.fuzz(scenario, crashes=2, iterations=300, seed=1) == 300  # two crashes: sampled


def test_a_location_that_forbids_restarts_crashes_but_never_restarts() -> None:
    flow = hl.FlowBuilder()
    port, out = _acceptors(flow, durable=False, forbid_restart=True)
    sim = flow.sim({Acceptors: 3})

    def scenario() -> None:
        _two_proposers(port, out)

    # The volatile acceptor is safe when it stays dead: a crash only loses its votes.
    assert sim.exhaustive(scenario, crashes=1) > 1
    trace = sim.run(scenario, [0, 0, 0, 2] + [1] * 20)  # crash member 1 at the 4th site; then offer faults
    assert "crash Cluster[Acceptors]/1" in trace and "restart" not in trace


def test_a_crash_loses_volatile_state_and_keeps_durable_state_and_watchers_see_it() -> None:
    flow = hl.FlowBuilder()
    acceptors = flow.cluster(Acceptors)
    watcher = flow.process(Watcher)
    port, xs = acceptors.sim_input(int)
    durable = xs.scan(lambda: 0, lambda a, x: a + x, durable="sum").sim_output()
    volatile = xs.scan(lambda: 0, lambda a, x: a + x).sim_output()
    seen = watcher.peer_liveness(acceptors).entries().map(lambda kv: (kv[0].raw_id, kv[1])).sim_output()
    sim = flow.sim({Acceptors: 1})
    outcomes: set[tuple[tuple[int, ...], tuple[int, ...], tuple[Any, ...]]] = set()

    def scenario() -> None:
        port.send(1, member=0)
        port.send(2, member=0)
        port.send(3, member=0)
        outcomes.add((tuple(durable.collect()), tuple(volatile.collect()), tuple(seen.collect())))

    sim.exhaustive(scenario, crashes=1)
    up, down, back = Liveness.up(0), Liveness.down(0), Liveness.restarted(1)
    # No crash; a crash before the second input then a restart (the durable sum goes on from 1,
    # the volatile one starts again); a crash with the input lost while it is down.
    assert ((1, 3, 6), (1, 3, 6), ((0, up),)) in outcomes
    assert ((1, 3, 6), (1, 2, 5), ((0, up), (0, down), (0, back))) in outcomes
    assert ((1, 4), (1, 3), ((0, up), (0, down), (0, back))) in outcomes  # 2 lost while down
    assert ((1,), (1,), ((0, up), (0, down))) in outcomes  # down for good
    for d, _, _ in outcomes:  # the durable sum never restarts: prefix sums of the inputs that arrived
        arrived = [b - a for a, b in zip((0, *d), d)]
        assert arrived == sorted(set(arrived)) and set(arrived) <= {1, 2, 3}, d


def test_faults_rejects_a_bad_budget_and_unknown_locations() -> None:
    flow = hl.FlowBuilder()
    _acceptors(flow, durable=True)
    sim = flow.sim({Acceptors: 3})
    with pytest.raises(hl.UsageError, match="non-negative"):
        sim.faults(crashes=-1)
    with pytest.raises(hl.UsageError, match="names no location"):
        sim.faults(crashes=1, locations=["Nope"])
    sim.faults(crashes=1, locations=[Acceptors])
    assert sim.fingerprint.endswith("-c1l0")


def test_the_state_cache_covers_the_fault_state() -> None:
    # With a fault budget the key includes who is down, the budgets left and the incarnations:
    # the same crash bug is found, and the durable twin passes every crash schedule in fewer runs.
    sim, scenario = _sim(durable=False)
    sim.save_failures = False
    with pytest.raises(SimulationFailure, match=r"two values chosen: \['one', 'two'\]"):
        sim.exhaustive(scenario, crashes=1, states=True)
    plain_sim, plain_scenario = _sim(durable=True)
    plain = plain_sim.exhaustive(plain_scenario, crashes=1)
    cached_sim, cached_scenario = _sim(durable=True)
    cached = cached_sim.exhaustive(cached_scenario, crashes=1, states=True)
    st = cached_sim.last
    assert st is not None and st.complete and st.states is not None and len(st.states.seen) > 0
    assert cached + st.pruned <= plain and cached < plain, (cached, st.pruned, plain)


def test_two_crashes_of_a_durable_acceptor_are_explored_exhaustively_with_the_cache() -> None:
    sim, scenario = _sim(durable=True)
    n = sim.exhaustive(scenario, crashes=2, states=True, max_seconds=120)
    assert n > 0 and sim.last is not None and sim.last.complete
