"""Leader leases (``paxos(acceptor_clock=..., lease=n)``): a leader that renews its lease is not
deposed, a leader that stops renewing is replaced once the lease runs out, and a stale leader
that wakes up is told to step down. Each property has its twin without leases."""

from __future__ import annotations

import importlib
import os
import signal
import time
from dataclasses import dataclass
from typing import Any, Callable

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.deploy import Localhost
from hydrologic.std.paxos import Accept, Ballot, KeepAlive, Nack, Prepare, Promise, paxos

acceptor_module = importlib.import_module("hydrologic.std.paxos.acceptor")

p0, p1 = hl.MemberId(0), hl.MemberId(1)  # type: ignore[var-annotated]


# ---- the acceptor's rule --------------------------------------------------------------------------


def _step(lease: int, st: Any, requests: list[Any], ticks: int = 0) -> Any:
    return acceptor_module.acceptor_step(lease, st, (requests, ticks))


def test_an_acceptor_refuses_other_proposers_while_the_lease_lasts() -> None:
    st = acceptor_module.AcceptorState.start()
    st = _step(3, st, [(p0, Prepare(Ballot(1, 0))), (p0, KeepAlive(Ballot(1, 0)))])
    st = _step(3, st, [(p1, Prepare(Ballot(2, 1)))], ticks=2)  # 2 of 3 ticks: still leased
    assert st.out == [(p1, Nack(Ballot(1, 0)))]
    st = _step(3, st, [(p0, Accept(Ballot(1, 0), (0,), ("a",)))], ticks=1)  # an Accept renews it too
    st = _step(3, st, [(p1, Prepare(Ballot(3, 1)))], ticks=2)
    assert st.out == [(p1, Nack(Ballot(1, 0)))]
    st = _step(3, st, [(p1, Prepare(Ballot(4, 1)))], ticks=1)  # 3 ticks since the Accept: expired
    assert isinstance(st.out[0][1], Promise) and st.promised == Ballot(4, 1)


def test_the_lease_holder_itself_may_campaign_again() -> None:
    st = acceptor_module.AcceptorState.start()
    st = _step(3, st, [(p0, Prepare(Ballot(1, 0))), (p0, KeepAlive(Ballot(1, 0)))])
    st = _step(3, st, [(p0, Prepare(Ballot(2, 0)))])
    assert isinstance(st.out[0][1], Promise)


def test_without_leases_another_proposer_is_promised_at_once() -> None:
    st = acceptor_module.AcceptorState.start()
    st = _step(0, st, [(p0, Prepare(Ballot(1, 0))), (p0, KeepAlive(Ballot(1, 0)))])
    st = _step(0, st, [(p1, Prepare(Ballot(2, 1)))])
    assert isinstance(st.out[0][1], Promise)


def test_a_stale_leaders_keepalive_is_refused_with_the_newer_ballot() -> None:
    st = acceptor_module.AcceptorState.start()
    st = _step(3, st, [(p1, Prepare(Ballot(2, 1)))])
    st = _step(3, st, [(p0, KeepAlive(Ballot(1, 0)))])
    assert st.out == [(p0, Nack(Ballot(2, 1)))]  # the old leader learns it must step down
    assert st.lease_holder == -1


def test_a_lease_needs_an_acceptor_clock() -> None:
    flow = hl.FlowBuilder()
    proposers = flow.cluster(Proposers)
    _, commands = proposers.sim_input(str)
    _, clock = proposers.sim_input(type(None))
    with pytest.raises(hl.UsageError, match="needs acceptor_clock"):
        paxos(
            proposers, flow.cluster(Acceptors), commands, clock, f=1,
            nondet_leader=nondet("test"), nondet_commit=nondet("test"), lease=3,
        )


# ---- the simulator ---------------------------------------------------------------------------------


class Proposers: ...


class Acceptors: ...


@dataclass
class Program:
    flow: hl.FlowBuilder
    commands: hl.SimInput[str]
    clock: hl.SimInput[None]
    acceptor_clock: hl.SimInput[None]
    committed: hl.SimOutput[tuple[tuple[int, str | None], hl.MemberId[Proposers]]]
    elected: hl.SimOutput[tuple[Ballot, hl.MemberId[Proposers]]]

    def sim(self) -> Any:
        return self.flow.sim(cluster_sizes={Proposers: 2, Acceptors: 3})


LEASE = 2


def program(lease: int) -> Program:
    flow = hl.FlowBuilder()
    proposers = flow.cluster(Proposers)
    acceptors = flow.cluster(Acceptors)
    cmd_in, commands = proposers.sim_input(str)
    clock_in, clock = proposers.sim_input(type(None))
    aclock_in, aclock = acceptors.sim_input(type(None))
    px = paxos(
        proposers,
        acceptors,
        commands,
        clock,
        f=1,
        nondet_leader=nondet("the test drives timeouts; any proposer may lead"),
        nondet_commit=nondet("the test accepts any slot for any command"),
        election_timeout=1,
        stagger=0,
        acceptor_clock=aclock,
        lease=lease,
    )
    me = proposers.self_id()
    return Program(
        flow, cmd_in, clock_in, aclock_in, px.committed.cross_singleton(me).sim_output(), px.elected.cross_singleton(me).sim_output()
    )


@dataclass
class Seen:
    runs: int = 0
    deposed: int = 0  # executions in which proposer 1 took office while proposer 0 held its lease
    replaced: int = 0  # executions in which proposer 1 took office once the lease ran out


def depose_scenario(p: Program, seen: Seen) -> Callable[[], None]:
    """Proposer 0 leads and renews its lease once; then proposer 1 times out three times while
    the acceptors' clocks stand still (proposer 0 is paused, say). Afterwards the acceptors'
    clocks run past the lease and proposer 1 times out again."""

    def scenario() -> None:
        p.clock.send(None, member=0)
        assert [m.raw_id for _, m in p.elected.collect()] == [0]
        p.clock.send(None, member=0)  # a heartbeat and a KeepAlive: the lease
        p.commands.send("a", member=0)
        got = p.committed.collect()
        for _ in range(3):
            p.clock.send(None, member=1)
        got += p.committed.collect()
        leaders = [m.raw_id for _, m in p.elected.collect()]
        seen.deposed += 1 in leaders
        for m in range(3):
            for _ in range(LEASE):
                p.acceptor_clock.send(None, member=m)
        got += p.committed.collect()  # quiet: every acceptor has counted its clock events
        for _ in range(3):
            p.clock.send(None, member=1)
            got += p.committed.collect()
        leaders += [m.raw_id for _, m in p.elected.collect()]
        seen.replaced += 1 in leaders
        assert ((0, "a"), 0) in [(e, m.raw_id) for e, m in got]
        seen.runs += 1

    return scenario


ITERATIONS = 150


def test_with_a_lease_a_timed_out_follower_cannot_depose_the_leader_until_it_expires() -> None:
    p = program(LEASE)
    seen = Seen()
    assert p.sim().fuzz(depose_scenario(p, seen), iterations=ITERATIONS, seed=5) == ITERATIONS
    assert seen.runs == ITERATIONS
    assert seen.deposed == 0, seen  # never while the lease lasted
    assert seen.replaced == ITERATIONS, seen  # always once it ran out


def test_without_a_lease_the_same_follower_deposes_the_leader() -> None:
    p = program(0)
    seen = Seen()
    assert p.sim().fuzz(depose_scenario(p, seen), iterations=ITERATIONS, seed=5) == ITERATIONS
    assert seen.deposed == ITERATIONS, seen


# ---- deployed: SIGSTOP the leader, SIGCONT it ----------------------------------------------------

PAXOS_LOG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "paxos_log.py")


def _commit(committed: Any, inp: Any, commands: list[str], timeout: float = 30) -> None:
    inp.send_many(commands)
    wanted, seen = set(commands), set[str]()
    deadline = time.monotonic() + timeout
    while not wanted <= seen:
        left = deadline - time.monotonic()
        assert left > 0, f"not committed within {timeout}s: {sorted(wanted - seen)}"
        seen |= {c for _, c in committed.take(1, timeout=left)}


@pytest.mark.timeout(120)
def test_deployed_a_paused_leader_is_replaced_and_does_not_take_over_when_it_resumes() -> None:
    d = Localhost(log=lambda _: None, on_failure="continue").start(f"{PAXOS_LOG}:build_leased", {"Proposers": 2, "Acceptors": 3})
    try:
        with d.output("leaders") as leaders, d.output("committed") as committed, d.input("commands") as inp:
            terms = leaders.take(1, timeout=30)
            _commit(committed, inp, [f"before-{i}" for i in range(5)])
            terms += leaders.drain(quiet=0.5, timeout=5)  # a loaded machine may have changed leaders early
            old_leader = terms[-1][0]
            pid = d.pids()[f"Proposers/{old_leader}"]
            os.kill(pid, signal.SIGSTOP)
            try:
                new_leader, _ = leaders.take(1, timeout=30)[0]
                assert new_leader != old_leader
                _commit(committed, inp, [f"paused-{i}" for i in range(5)])
            finally:
                os.kill(pid, signal.SIGCONT)
            _commit(committed, inp, [f"resumed-{i}" for i in range(5)])
            time.sleep(2.0)  # the resumed proposer's overdue timers have all fired by now
            _commit(committed, inp, [f"later-{i}" for i in range(5)])
            later = leaders.drain(quiet=0.5, timeout=5)
            assert later == [], f"leadership changed again after the old leader resumed: {later}"
    finally:
        d.stop()
