"""Multi-Paxos run in one process (deterministic), its helpers, and its build-time contract."""

from __future__ import annotations

from typing import Any

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.std.paxos import Ballot, ordered_log, paxos, replicated_state_machine


class Proposers: ...


class Acceptors: ...


class Replica: ...


def build(f: int = 1, **kw: Any) -> tuple[hl.FlowBuilder, Any, Any, Any, Any, Any]:
    flow = hl.FlowBuilder()
    proposers = flow.cluster(Proposers)
    acceptors = flow.cluster(Acceptors)
    cmd_in, commands = proposers.sim_input(str)
    clock_in, clock = proposers.sim_input(type(None))
    px = paxos(
        proposers,
        acceptors,
        commands,
        clock,
        f=f,
        nondet_leader=nondet("any proposer may lead"),
        nondet_commit=nondet("any slot for any command"),
        **kw,
    )
    me = proposers.self_id()
    committed = px.committed.cross_singleton(me).sim_output()
    elected = px.elected.cross_singleton(me).sim_output()
    log = ordered_log(px.committed, proposers.tick()).cross_singleton(me).sim_output()
    return flow, cmd_in, clock_in, committed, elected, log


def per_member(entries: list[tuple[Any, hl.MemberId[Any]]]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for value, member in entries:
        out.setdefault(member.raw_id, []).append(value)
    return out


def test_commands_commit_in_a_stable_configuration() -> None:
    flow, cmd_in, clock_in, committed, elected, log = build()
    with flow.run_in_process(cluster_sizes={Proposers: 2, Acceptors: 3}):
        clock_in.send(None, member=0)  # proposer 0: one silent tick (timeout 2) ...
        assert elected.collect() == []
        clock_in.send(None, member=0)  # ... two: it campaigns and wins
        assert elected.collect() == [(Ballot(1, 0), hl.MemberId(0))]
        for m in (0, 1):
            cmd_in.send_many(["x", "y", "z"], member=m)
        assert per_member(log.collect()) == {0: [(0, "x"), (1, "y"), (2, "z")], 1: [(0, "x"), (1, "y"), (2, "z")]}
        # heartbeats keep proposer 1 (timeout 2 + stagger 1) from campaigning
        for _ in range(5):
            clock_in.send(None, member=0)
            clock_in.send(None, member=1)
            assert elected.collect() == []
        cmd_in.send("w", member=0)
        cmd_in.send("w", member=1)
        assert per_member(log.collect()) == {0: [(3, "w")], 1: [(3, "w")]}
        # the unordered committed stream holds the same entries, each once per proposer
        everything = [(0, "x"), (1, "y"), (2, "z"), (3, "w")]
        assert {m: sorted(v) for m, v in per_member(committed.collect()).items()} == {0: everything, 1: everything}


def test_a_new_leader_recovers_the_log_and_fills_holes() -> None:
    flow, cmd_in, clock_in, committed, elected, log = build(election_timeout=1, stagger=0)
    with flow.run_in_process(cluster_sizes={Proposers: 2, Acceptors: 3}):
        clock_in.send(None, member=0)
        cmd_in.send_many(["a", "b"], member=0)  # only proposer 0 knows these
        assert sorted(per_member(committed.collect())[1]) == [(0, "a"), (1, "b")]
        clock_in.send(None, member=1)  # proposer 1 heard no heartbeat: it takes over
        assert [b for b, _ in elected.collect()] == [Ballot(1, 0), Ballot(1, 1)]
        cmd_in.send("c", member=1)
        logs = per_member(log.collect())
        assert logs[0] == logs[1] == [(0, "a"), (1, "b"), (2, "c")]  # "a", "b" kept their slots
        clock_in.send(None, member=1)  # a heartbeat makes proposer 0 (the old leader) step down
        clock_in.send(None, member=0)
        assert elected.collect() == []


def test_replicated_state_machine_applies_each_command_once_in_slot_order() -> None:
    flow = hl.FlowBuilder()
    replica = flow.process(Replica)
    inp, entries = replica.sim_input(tuple)

    def apply(store: dict[str, int], command: str) -> tuple[dict[str, int], int]:
        key = command.split(":")[1]
        store[key] = store.get(key, 0) + 1
        return store, store[key]

    log: hl.Stream[tuple[int, str | None], Any, Any, hl.TotalOrder, hl.ExactlyOnce] = ordered_log(
        entries.weaken_ordering(), replica.tick()
    )
    out = replicated_state_machine(log, dict, apply).sim_output()

    def scenario() -> None:
        # committed out of order, a hole filled by a no-op, and a command committed twice
        inp.send_many_unordered([(2, "c2:x"), (0, "c0:x"), (3, None), (1, "c1:y"), (4, "c0:x"), (5, "c5:x")])
        out.assert_yields_only([(0, "c0:x", 1), (1, "c1:y", 1), (2, "c2:x", 2), (5, "c5:x", 3)])

    runs = flow.sim().exhaustive(scenario)
    assert runs > 1  # every arrival order and batching gives the same applied sequence


def test_paxos_declares_its_nondet_sites_with_the_callers_reasons() -> None:
    flow, *_ = build()
    sites = flow.nondet_sites()
    # 5 batches in each proposer's tick (replies, heartbeats, clock, commands, learned commits),
    # 1 in each acceptor's, 1 in ordered_log; all attributed to the caller's lines, each
    # forwarding the caller's reason for what it may change
    assert [s.op for s in sites] == ["batch"] * 7
    forwarded = [s.forwarded for s in sites]
    assert forwarded == [("any proposer may lead",)] * 3 + [("any slot for any command",)] * 3 + [()]
    assert all(s.site.file.endswith("test_paxos_inprocess.py") for s in sites)
    assert {s.location for s in sites} == {"Tick#0[Cluster[Proposers]]", "Tick#1[Cluster[Acceptors]]", "Tick#2[Cluster[Proposers]]"}


def test_bad_arguments_are_rejected_at_the_call() -> None:
    flow = hl.FlowBuilder()
    proposers = flow.cluster(Proposers)
    acceptors = flow.cluster(Acceptors)
    _, commands = proposers.sim_input(str)
    _, clock = proposers.sim_input()
    with pytest.raises(hl.UsageError, match="f >= 0"):
        paxos(proposers, acceptors, commands, clock, f=-1, nondet_leader=nondet("x"), nondet_commit=nondet("x"))
    with pytest.raises(hl.UsageError, match="election_timeout >= 1"):
        paxos(
            proposers, acceptors, commands, clock, f=1, nondet_leader=nondet("x"), nondet_commit=nondet("x"), election_timeout=0
        )


def test_more_acceptors_than_2f_plus_1_is_refused_when_it_runs() -> None:
    flow, cmd_in, clock_in, committed, elected, log = build(f=1)
    with flow.run_in_process(cluster_sizes={Proposers: 2, Acceptors: 5}):
        clock_in.send(None, member=0)  # each tick that sees the clock counts once
        committed.collect()
        clock_in.send(None, member=0)
        with pytest.raises(hl.HydroRuntimeError, match=r"at most 3 acceptors"):
            elected.collect()
