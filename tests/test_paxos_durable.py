"""Durable Multi-Paxos members (``paxos(durable=...)``): what they persist, that a restart keeps
every promise and vote and never reuses a ballot, and the seeded bugs that break it.

The simulator crashes and restarts acceptors and proposers (``crashes=``) at every point it
decides anything; with durable members no crash schedule lets two values be committed for one
slot, and an acceptor that forgets on restart is caught.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import InvariantViolation, World
from hydrologic.std.paxos import ZERO, Accept, Accepted, Ballot, Nack, Prepare, Promise, paxos
from hydrologic.storage import DELETE

acceptor_module = importlib.import_module("hydrologic.std.paxos.acceptor")
proposer_module = importlib.import_module("hydrologic.std.paxos.proposer")


class Proposers: ...


class Acceptors: ...


# ---- the state machines' records ------------------------------------------------------------


def _apply(store: dict[Any, Any], records: list[tuple[Any, Any]]) -> None:
    for key, value in records:
        if value is DELETE:
            store.pop(key, None)
        else:
            store[key] = value


def test_a_durable_acceptor_writes_only_what_a_tick_changed_and_restores_from_it() -> None:
    st: Any = acceptor_module.DurableAcceptorState.start()
    store: dict[Any, Any] = {}
    p = hl.MemberId(0)  # type: ignore[var-annotated]
    b1, b2 = Ballot(1, 0), Ballot(2, 0)
    st = acceptor_module.acceptor_step(0, st, ([(p, Prepare(b1)), (p, Accept(b1, (0, 1), ("a", "b")))], 0))
    first = st.durable_records()
    assert sorted(map(repr, first)) == sorted(map(repr, [(0, (b1, "a")), (1, (b1, "b")), ("promised", b1)]))
    _apply(store, first)
    st = acceptor_module.acceptor_step(0, st, ([(p, Accept(b1, (2,), ("c",)))], 0))
    assert st.durable_records() == [(2, (b1, "c"))]  # one slot; the promise did not change
    _apply(store, [(2, (b1, "c"))])
    st = acceptor_module.acceptor_step(0, st, ([(p, Prepare(b2, 1))], 0))
    assert st.durable_records() == [("promised", b2)]
    _apply(store, [("promised", b2)])
    assert st.durable_records() == []  # nothing new since the last write

    restored: Any = acceptor_module.DurableAcceptorState.start()
    restored.restore_records(dict(store))
    assert restored.promised == b2 and restored.log == st.log
    # The restarted acceptor keeps its promise: it refuses ballot 1 and reports its votes to 3.
    restored = acceptor_module.acceptor_step(0, restored, ([(p, Accept(b1, (3,), ("d",))), (p, Prepare(Ballot(3, 1)))], 0))
    nack, promise = (msg for _, msg in restored.out)
    assert nack == Nack(b2)
    assert isinstance(promise, Promise) and [s for s, _, _ in promise.log] == [0, 1, 2]


def test_a_volatile_acceptor_tracks_no_changes() -> None:
    st: Any = acceptor_module.AcceptorState.start()
    st = acceptor_module.acceptor_step(0, st, ([(hl.MemberId(0), Accept(Ballot(1, 0), (0,), ("a",)))], 0))
    assert st.changed_slots is None and not hasattr(st, "durable_records")
    assert st.out == [(None, Accepted(Ballot(1, 0), (0,), ("a",)))]


def test_a_ballot_is_promised_once() -> None:
    """A restarted proposer that campaigns again with a ballot it already used is refused, and
    the Nack tells it the ballot to outbid; a higher ballot is promised."""
    b = Ballot(4, 1)
    st: Any = acceptor_module.AcceptorState.start()
    st = acceptor_module.acceptor_step(0, st, ([(hl.MemberId(1), Prepare(b))], 0))
    assert isinstance(st.out[0][1], Promise)
    st = acceptor_module.acceptor_step(0, st, ([(hl.MemberId(1), Prepare(b))], 0))
    assert st.out == [(hl.MemberId(1), Nack(b))]
    st = acceptor_module.acceptor_step(0, st, ([(hl.MemberId(1), Prepare(Ballot(5, 1)))], 0))
    assert isinstance(st.out[0][1], Promise)


def test_a_durable_proposer_persists_its_ballot_only_when_it_campaigns_and_outbids_it_after_restart() -> None:
    cfg = proposer_module.Config(f=1, election_timeout=1, stagger=0)
    inbox = proposer_module.ProposerInbox
    st: Any = proposer_module.DurableProposerState.start()
    st = proposer_module.proposer_step(cfg, st, inbox([], Ballot(0, -1), 1, 2, [], []))  # times out
    (prepare,) = st.out.to_acceptors
    assert prepare == Prepare(Ballot(1, 2), 0)
    assert st.durable_records() == [("ballot", 1)]
    st = proposer_module.proposer_step(cfg, st, inbox([], Ballot(0, -1), 0, 2, ["x"], []))
    assert st.durable_records() == []  # a tick without a new ballot writes nothing

    restored: Any = proposer_module.DurableProposerState.start()
    restored.restore_records({"ballot": 7})
    restored = proposer_module.proposer_step(cfg, restored, inbox([], Ballot(0, -1), 1, 2, [], []))
    (prepare,) = restored.out.to_acceptors
    assert prepare.ballot == Ballot(8, 2)  # above every ballot the earlier incarnation could have used


def test_durable_needs_a_name() -> None:
    flow = hl.FlowBuilder()
    proposers = flow.cluster(Proposers)
    _, commands = proposers.sim_input(str)
    _, clock = proposers.sim_input(type(None))
    with pytest.raises(hl.UsageError, match="durable to be a non-empty name"):
        paxos(
            proposers, flow.cluster(Acceptors), commands, clock, f=1,
            nondet_leader=nondet("test"), nondet_commit=nondet("test"), durable="",
        )


# ---- the simulator crashes and restarts members ------------------------------------------------


@dataclass
class Program:
    flow: hl.FlowBuilder
    commands: hl.SimInput[str]
    clock: hl.SimInput[None]
    committed: hl.SimOutput[tuple[tuple[int, str | None], hl.MemberId[Proposers]]]
    elected: hl.SimOutput[tuple[Ballot, hl.MemberId[Proposers]]]

    def sim(self) -> Any:
        return self.flow.sim(cluster_sizes={Proposers: 2, Acceptors: 3})


def program(durable: str | None) -> Program:
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
        f=1,
        nondet_leader=nondet("the test drives timeouts; any proposer may lead"),
        nondet_commit=nondet("the test accepts any slot for any command"),
        election_timeout=1,
        stagger=0,
        durable=durable,
    )
    me = proposers.self_id()
    return Program(flow, cmd_in, clock_in, px.committed.cross_singleton(me).sim_output(), px.elected.cross_singleton(me).sim_output())


def assert_agreement(entries: list[tuple[tuple[int, Any], Any]]) -> dict[int, Any]:
    chosen: dict[int, Any] = {}
    for (slot, value), member in entries:
        if slot in chosen and chosen[slot] != value:
            raise AssertionError(f"two values committed for slot {slot}: {chosen[slot]!r} and {value!r} (at proposer {member.raw_id})")
        chosen[slot] = value
    return chosen


@dataclass
class Seen:
    runs: int = 0
    committed: int = 0  # executions that committed something


def crash_scenario(p: Program, seen: Seen) -> Callable[[], None]:
    """Two proposers take turns leading while commands arrive; the simulator crashes and restarts
    members wherever it likes. No slot may ever hold two values."""

    def scenario() -> None:
        p.clock.send(None, member=0)
        p.commands.send("a", member=0)
        p.commands.send("b", member=1)
        p.clock.send(None, member=1)
        for m in (0, 1):
            p.commands.send("c", member=m)
        p.clock.send(None, member=0)
        got = p.committed.collect()
        for m in (1, 0, 1):
            p.clock.send(None, member=m)
            got += p.committed.collect()
        chosen = assert_agreement(got)
        seen.runs += 1
        seen.committed += bool(chosen)

    return scenario


CRASH_ITERATIONS = 400


def test_durable_members_keep_agreement_under_crashes_and_restarts() -> None:
    p = program("px")
    seen = Seen()
    runs = p.sim().fuzz(crash_scenario(p, seen), iterations=CRASH_ITERATIONS, seed=3, crashes=2)
    assert runs == seen.runs == CRASH_ITERATIONS
    assert seen.committed > CRASH_ITERATIONS // 2, seen



# ---- an invariant after every step: no acceptor ever forgets a promise or a vote -----------------


def promises_and_votes_are_never_forgotten(world: World) -> None:
    """After every step, crash and restart: each acceptor's promise never decreases and every
    vote it gave stays (with the same or a higher ballot)."""
    for acceptor in world.members(Acceptors):
        if acceptor.crashed:
            continue
        st = acceptor["px.acceptor"]
        promised = getattr(st, "promised", ZERO)
        log: dict[int, Any] = dict(getattr(st, "log", {}))
        before_promised, before_log = world.memory.get(acceptor.name, (ZERO, {}))
        assert promised >= before_promised, f"{acceptor.name} promised {before_promised}, now {promised}"
        for slot, (ballot, _) in before_log.items():
            assert slot in log and log[slot][0] >= ballot, f"{acceptor.name} forgot its vote for slot {slot}"
        world.memory[acceptor.name] = (promised, {slot: (b, v) for slot, (b, v) in log.items()})


def single_acceptor_program() -> tuple[Any, Callable[[], None]]:
    """One proposer, one acceptor (f = 0), small enough to search exhaustively with a crash: the
    proposer takes office and commits a command; the acceptor may crash and restart anywhere."""
    flow = hl.FlowBuilder()
    proposers = flow.cluster(Proposers)
    acceptors = flow.cluster(Acceptors)
    cmd_in, commands = proposers.sim_input(str)
    clock_in, clock = proposers.sim_input(type(None))
    px = paxos(
        proposers, acceptors, commands, clock, f=0,
        nondet_leader=nondet("the test drives timeouts"), nondet_commit=nondet("any slot for any command"),
        election_timeout=1, stagger=0, durable="px",
    )
    out = px.committed.sim_output()
    sim = flow.sim(cluster_sizes={Proposers: 1, Acceptors: 1})
    sim.invariant(promises_and_votes_are_never_forgotten)

    def scenario() -> None:
        clock_in.send(None, member=0)
        cmd_in.send("a", member=0)
        out.collect()

    return sim, scenario


def test_durable_acceptors_never_forget_a_promise_or_a_vote_at_any_crash_point() -> None:
    sim, scenario = single_acceptor_program()
    n = sim.exhaustive(scenario, crashes=1)
    assert n > 20 and sim.last is not None and sim.last.complete


def test_an_acceptor_that_forgets_on_restart_breaks_the_invariant(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seeded bug: the records are written, but a restart ignores them (as if the state
    were in memory only). The same search fails at the restart that forgets."""
    monkeypatch.setattr(acceptor_module.DurableAcceptorState, "restore_records", lambda self, records: None)
    sim, scenario = single_acceptor_program()
    with pytest.raises(InvariantViolation) as info:
        sim.exhaustive(scenario, crashes=1)
    msg = str(info.value)
    assert "restart of Cluster[Acceptors]/0" in msg, msg
    assert "promised" in msg or "forgot its vote" in msg, msg


INVARIANT_ITERATIONS = 200


def test_durable_acceptors_never_forget_a_promise_or_a_vote_across_crashes() -> None:
    p = program("px")
    sim = p.sim()
    sim.invariant(promises_and_votes_are_never_forgotten)
    seen = Seen()
    assert sim.fuzz(crash_scenario(p, seen), iterations=INVARIANT_ITERATIONS, seed=4, crashes=1) == INVARIANT_ITERATIONS
    assert seen.runs == INVARIANT_ITERATIONS
