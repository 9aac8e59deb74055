"""Multi-Paxos under the simulator: safety across leader changes, and seeded bugs it must catch.

Timers are ``sim_input``s that each scenario drives, so timeouts (and thus leader changes) happen
where the scenario says, and the simulator explores everything else: how timer events,
heartbeats, promises, refusals, proposals and commands are batched into every proposer's and
acceptor's ticks, and in which order those ticks run.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from typing import Any, Callable

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import SimulationFailure
from hydrologic.std.paxos import Ballot, paxos

# the role modules whose functions the seeded-bug tests replace (where the caller looks them up)
paxos_module = importlib.import_module("hydrologic.std.paxos")
proposer_module = importlib.import_module("hydrologic.std.paxos.proposer")
learner_module = importlib.import_module("hydrologic.std.paxos.learner")
protocol_module = importlib.import_module("hydrologic.std.paxos.protocol")


class Proposers: ...


class Acceptors: ...


@dataclass
class Program:
    flow: hl.FlowBuilder
    commands: hl.SimInput[str]
    clock: hl.SimInput[None]
    committed: hl.SimOutput[tuple[tuple[int, str | None], hl.MemberId[Proposers]]]
    elected: hl.SimOutput[tuple[Ballot, hl.MemberId[Proposers]]]
    sizes: dict[Any, int]

    def sim(self) -> Any:
        return self.flow.sim(cluster_sizes=self.sizes)


def program(n_proposers: int, n_acceptors: int, f: int, *, election_timeout: int = 1, stagger: int = 0) -> Program:
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
        nondet_leader=nondet("the test drives timeouts; any proposer may lead"),
        nondet_commit=nondet("the test accepts any slot for any command"),
        election_timeout=election_timeout,
        stagger=stagger,
    )
    me = proposers.self_id()
    committed = px.committed.cross_singleton(me).sim_output()
    elected = px.elected.cross_singleton(me).sim_output()
    return Program(flow, cmd_in, clock_in, committed, elected, {Proposers: n_proposers, Acceptors: n_acceptors})


Entry = tuple[tuple[int, Any], hl.MemberId[Any]]


def assert_agreement(entries: list[Entry]) -> dict[int, Any]:
    """No two proposers (nor one proposer twice) commit different values for one slot."""
    chosen: dict[int, Any] = {}
    for (slot, value), member in entries:
        if slot in chosen and chosen[slot] != value:
            raise AssertionError(
                f"two values committed for slot {slot}: {chosen[slot]!r} and {value!r} (at proposer {member.raw_id})"
            )
        chosen[slot] = value
    return chosen


def logs_by_member(entries: list[Entry]) -> dict[int, dict[int, Any]]:
    out: dict[int, dict[int, Any]] = {}
    for (slot, value), member in entries:
        out.setdefault(member.raw_id, {})[slot] = value
    return out


@dataclass
class Outcomes:
    runs: int = 0
    leader_changes: int = 0  # executions in which more than one proposer took office
    max_slots: int = 0


def leader_change_scenario(p: Program, n_proposers: int, seen: Outcomes) -> Callable[[], None]:
    """Commands reach different proposers while both time out, then one proposer is kept alive
    alone (only its clock runs) until it leads: everything it received must be committed at
    every proposer, and no slot may ever hold two values."""

    def scenario() -> None:
        everyone = range(n_proposers)
        p.clock.send(None, member=0)  # proposer 0 times out and campaigns
        p.commands.send("a", member=0)
        p.commands.send("b", member=1)  # only proposer 1 has "b"
        p.clock.send(None, member=1)  # proposer 1 times out unless a heartbeat came first
        for m in everyone:
            p.commands.send("c", member=m)
        p.clock.send(None, member=0)  # a heartbeat from proposer 0 if it leads, else a new campaign
        p.clock.send(None, member=1)
        for m in everyone:
            p.commands.send("d", member=m)
        got = p.committed.collect()
        assert_agreement(got)
        # Stabilise: only proposer 0's clock runs. Within three rounds it leads (a round may only
        # teach it a higher ballot it then outbids), so a stable leader exists.
        for _ in range(3):
            p.clock.send(None, member=0)
            got += p.committed.collect()
        chosen = assert_agreement(got)
        logs = logs_by_member(got)
        for m in everyone:
            mine = set(logs.get(m, {}).values())
            assert {"a", "c", "d"} <= mine, f"proposer {m} committed only {sorted(x for x in mine if x)}"
            assert logs[m] == chosen, f"proposer {m}'s log {logs[m]} differs from the others' {chosen}"
        leaders = {member.raw_id for _, member in p.elected.collect()}
        seen.runs += 1
        seen.leader_changes += len(leaders) > 1
        seen.max_slots = max(seen.max_slots, len(chosen))

    return scenario


@dataclass
class Takeovers:
    runs: int = 0
    third_leader: int = 0  # executions in which proposer 2 took office before the stabilisation
    both_committed: int = 0  # executions that committed both contested commands


def takeover_scenario(p: Program, seen: Takeovers) -> Callable[[], None]:
    """Three ballots race for slot 0 (3 proposers). Proposer 0 leads; proposer 1 takes over,
    and the scenario waits only until it has taken office (two promises), so the third acceptor
    may not have heard of it yet. Then proposer 0, which still believes it leads, proposes "a",
    proposer 1 proposes "b", and proposer 2 times out and campaigns. Afterwards only proposer
    0's clock runs until it leads: "a" must then be committed at every proposer, and no slot may
    ever hold two values.

    A broken recovery needs all of this at once: an acceptor that accepted "a" from the old
    ballot but not yet "b" from the newer one, "b" chosen by the other two, and a third leader
    that hears from both sides before it learns that slot 0 is committed (a leader that has
    learned a commit skips that slot). Waiting for proposer 1's election, rather than for
    quiescence, sets up the first two ballots without letting the lagging acceptor catch up, so
    the random schedule has much less left to get right: about one execution in 230 exposes a
    lowest-ballot recovery, against fewer than one in 2,000 for ``leader_change_scenario``."""

    def scenario() -> None:
        p.clock.send(None, member=0)
        p.elected.collect()  # proposer 0 leads, promised by every acceptor
        p.clock.send(None, member=1)
        # Only proposer 1 can take office next (nothing is committed, no other clock ran); waiting
        # for that, not for quiescence, leaves the third acceptor free to lag behind.
        _, member = p.elected.next()
        assert member.raw_id == 1, member
        p.commands.send("a", member=0)  # proposer 0 still leads, as far as it knows
        p.commands.send("b", member=1)
        p.clock.send(None, member=2)  # proposer 2 campaigns unless it learned a commit in that tick
        got = p.committed.collect()
        assert_agreement(got)
        leaders = {m.raw_id for _, m in p.elected.collect()}
        # Stabilise: only proposer 0's clock runs. It has seen a higher ballot (its proposal was
        # refused), so it campaigns with a ballot above every other and leads.
        for _ in range(3):
            p.clock.send(None, member=0)
            got += p.committed.collect()
        chosen = assert_agreement(got)
        logs = logs_by_member(got)
        for m in range(3):
            assert "a" in logs.get(m, {}).values(), f"proposer {m} committed only {logs.get(m)}"
            assert logs[m] == chosen, f"proposer {m}'s log {logs[m]} differs from the others' {chosen}"
        seen.runs += 1
        seen.third_leader += 2 in leaders
        seen.both_committed += {"a", "b"} <= set(chosen.values())

    return scenario


def race_scenario(p: Program) -> Callable[[], None]:
    """The smallest leader change: proposer 0 leads (a barrier), then gets "a" while proposer 1,
    which has "b", times out and takes over, with every message of both still in flight."""

    def scenario() -> None:
        p.clock.send(None, member=0)
        p.committed.collect()  # proposer 0 has taken office
        p.commands.send("a", member=0)
        p.clock.send(None, member=1)
        p.commands.send("b", member=1)
        got = p.committed.collect()
        assert_agreement(got)

    return scenario


# ---- safety ------------------------------------------------------------------------------------


def test_exhaustive_leader_change_race_with_one_acceptor() -> None:
    # f = 0: 2 proposers, 1 acceptor, the smallest configuration where exhaustive search finishes.
    p = program(2, 1, 0)
    sim = p.sim()
    t0 = time.perf_counter()
    runs = sim.exhaustive(race_scenario(p), max_seconds=120)  # its own limit, over the default budget under load
    # 952 executions + 970 pruned (8,244 before a unit sent nothing stayed asleep, 11,914 before
    # proposals became runs): each proposer tick also decides which learned commits it sees (the
    # feedback that lets proposers forget committed commands); 289 before that edge existed.
    assert sim.last.complete and runs > 100, runs
    assert time.perf_counter() - t0 < 120


def test_exhaustive_election_and_commit_with_three_acceptors() -> None:
    # f = 1: every interleaving of one election and one command over 3 acceptors commits the
    # command in slot 0 at both proposers (with two competing campaigns the space is too large
    # to enumerate here: the fuzz tests below cover it).
    p = program(2, 3, 1)
    sim = p.sim()

    def scenario() -> None:
        p.clock.send(None, member=0)
        p.committed.collect()
        p.commands.send("a", member=0)
        got = p.committed.collect()
        assert sorted((e, m.raw_id) for e, m in got) == [((0, "a"), 0), ((0, "a"), 1)]

    runs = sim.exhaustive(scenario)
    # 104 executions (+ 165 pruned): 550 before an acceptor's vote, which only the learner's
    # tally takes at the proposer's top level, could wait behind a proposer tick that sent the
    # acceptor nothing; 770 before a unit sent nothing stayed asleep at all
    assert sim.last.complete and runs > 50, runs


def _put(log: dict[int, Any], entry: tuple[int, Any]) -> dict[int, Any]:
    slot, value = entry
    return {**log, slot: value}


def test_the_proposers_committed_logs_are_claimed_consistent_and_the_simulator_checks_it() -> None:
    # Every proposer learns every decision from the acceptors' votes over fail-stop channels, so
    # once an execution settles all proposers hold the same slot -> value map: a consistency claim
    # (HL612 if false) that the simulator checks at the end of every execution, on top of the
    # scenario's own agreement checks.
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
    )
    log = px.committed.fold(
        dict,
        _put,
        commutative=hl.proof("a slot's value is chosen once, so puts of different slots commute"),
        idempotent=hl.proof("putting the same chosen value again changes nothing"),
    )
    log.assert_has_consistency_of(
        hl.EventualConsistency, nondet("every proposer learns every decision from the acceptors' votes")
    ).make_eventually_consistent()
    me = proposers.self_id()
    committed = px.committed.cross_singleton(me).sim_output()
    elected = px.elected.cross_singleton(me).sim_output()
    q = Program(flow, cmd_in, clock_in, committed, elected, {Proposers: 2, Acceptors: 3})
    assert "every proposer learns every decision from the acceptors' votes" in [x.reason for x in flow.nondet_sites()]
    seen = Outcomes()
    runs = q.sim().fuzz(leader_change_scenario(q, 2, seen), iterations=200, seed=3)
    assert runs == 200 and seen.leader_changes > 0, seen


def test_fuzz_safety_and_liveness_across_leader_changes() -> None:
    p = program(2, 3, 1)
    seen = Outcomes()
    runs = p.sim().fuzz(leader_change_scenario(p, 2, seen), iterations=1200, seed=0)
    assert runs == 1200 and seen.runs == 1200
    # The scenario really changes leaders: in a good share of executions both proposers led.
    assert seen.leader_changes > seen.runs // 5, seen
    assert seen.max_slots >= 4


# The budget of both the honest run of ``takeover_scenario`` below and the seeded bug it must
# catch (``test_recovery_that_prefers_the_lowest_ballot_is_caught``): the same executions, so
# that the bug test's scenario is proven free of false alarms.
TAKEOVER_ITERATIONS = 1500
TAKEOVER_SEED = 1


def test_fuzz_three_ballots_racing_for_a_slot() -> None:
    p = program(3, 3, 1)
    seen = Takeovers()
    runs = p.sim().fuzz(takeover_scenario(p, seen), iterations=TAKEOVER_ITERATIONS, seed=TAKEOVER_SEED)
    assert runs == seen.runs == TAKEOVER_ITERATIONS, (runs, seen)
    # The race really happens: proposer 2 usually takes office too, and often both contested
    # commands are committed (one of them in a later slot).
    assert seen.third_leader > seen.runs // 2, seen
    assert seen.both_committed > seen.runs // 4, seen


def test_fuzz_three_proposers_with_staggered_timeouts() -> None:
    p = program(3, 3, 1, election_timeout=1, stagger=1)
    seen = Outcomes()

    def scenario() -> None:
        for m in range(3):
            p.commands.send(f"x{m}", member=m)
        for m in (2, 1, 2, 0, 2, 1, 2):  # proposer 2 needs 3 silent ticks, 1 needs 2, 0 needs 1
            p.clock.send(None, member=m)
        got = p.committed.collect()
        for _ in range(3):
            p.clock.send(None, member=0)
            got += p.committed.collect()
        chosen = assert_agreement(got)
        assert "x0" in chosen.values()
        seen.runs += 1
        seen.leader_changes += len({m.raw_id for _, m in p.elected.collect()}) > 1

    p.sim().fuzz(scenario, iterations=300, seed=1)
    assert seen.leader_changes > 0, seen


# ---- seeded bugs: the tests above must catch a broken protocol -------------------------------


def expect_violation(p: Program, scenario: Callable[[], None], *, exhaustive: bool, iterations: int = 1200) -> str:
    sim = p.sim()
    with pytest.raises(SimulationFailure) as info:
        if exhaustive:
            sim.exhaustive(scenario)
        else:
            sim.fuzz(scenario, iterations=iterations, seed=0)
    msg = str(info.value)
    assert "two values committed for slot" in msg, msg
    assert "the test drives timeouts" in msg or "the test accepts any slot" in msg  # reasons in the trace
    assert "sim.replay(scenario, 'hl1." in msg
    return msg


def test_a_leader_that_skips_log_recovery_is_caught_exhaustively(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proposer_module, "_recover", lambda promises: {})
    p = program(2, 1, 0)
    expect_violation(p, race_scenario(p), exhaustive=True)


def test_a_leader_that_skips_log_recovery_is_caught_by_fuzz_with_three_acceptors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(proposer_module, "_recover", lambda promises: {})
    p = program(2, 3, 1)
    expect_violation(p, leader_change_scenario(p, 2, Outcomes()), exhaustive=False)


def test_committing_on_a_single_accept_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(learner_module, "commit_quorum", lambda f: 1)
    p = program(2, 3, 1)
    expect_violation(p, leader_change_scenario(p, 2, Outcomes()), exhaustive=False)


def test_an_acceptor_that_breaks_its_promise_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    honest = protocol_module.acceptor_step

    def forgetful(lease: int, acc: Any, inbox: Any) -> Any:
        acc.promised = paxos_module.ZERO  # forgets every promise before each tick
        return honest(lease, acc, inbox)

    monkeypatch.setattr(protocol_module, "acceptor_step", forgetful)
    p = program(2, 3, 1)
    expect_violation(p, leader_change_scenario(p, 2, Outcomes()), exhaustive=False)


def test_recovery_that_prefers_the_lowest_ballot_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A subtle bug: the new leader re-proposes the value with the *lowest* ballot for a slot.
    It shows only when a third leader hears both from an acceptor that kept an older ballot's
    value and from one that accepted the chosen value, before that leader learns the slot is
    committed (since proposers learn commits, a leader skips slots it knows are committed and a
    follower that learns commits does not time out). In a deployment a proposer's learned feed
    can lag arbitrarily, so the harness must still find it.

    ``leader_change_scenario`` no longer finds it (not in 8,000 executions for seeds 0, 1 and
    4). ``takeover_scenario`` does; measured without shrinking, fuzz finds it after 321, 335,
    774, 222, 302, 157, 13 and 505 executions for seeds 0-7, and 163, 87, 604, 1, 84, 51, 96
    and 9 for seeds 8-15 (median about 160, at most 774; about one execution in 230 shows it).
    This test uses seed 1 and the honest twin's budget, 1,500."""

    def lowest(promises: dict[int, tuple[tuple[int, Ballot, Any], ...]]) -> dict[int, tuple[Ballot, Any]]:
        merged: dict[int, tuple[Ballot, Any]] = {}
        for log in promises.values():
            for slot, ballot, value in log:
                cur = merged.get(slot)
                if cur is None or ballot < cur[0]:
                    merged[slot] = (ballot, value)
        return merged

    monkeypatch.setattr(proposer_module, "_recover", lowest)
    p = program(3, 3, 1)
    with pytest.raises(SimulationFailure, match="two values committed for slot"):
        scenario = takeover_scenario(p, Takeovers())
        p.sim().fuzz(scenario, iterations=TAKEOVER_ITERATIONS, seed=TAKEOVER_SEED, shrink=False)


def test_deployment_clocks_under_virtual_time() -> None:
    """The clock as deployed (``source_interval`` on every proposer), fired by the scenario's
    virtual time: every proposer's clock advances together, the simulator explores how each
    firing is batched against heartbeats and replies. Safety must hold throughout."""
    flow = hl.FlowBuilder()
    proposers = flow.cluster(Proposers)
    acceptors = flow.cluster(Acceptors)
    cmd_in, commands = proposers.sim_input(str)
    clock = proposers.source_interval(0.1, nondet("the scenario's virtual time decides"))
    px = paxos(
        proposers,
        acceptors,
        commands,
        clock,
        f=1,
        nondet_leader=nondet("the test drives timeouts; any proposer may lead"),
        nondet_commit=nondet("the test accepts any slot for any command"),
        election_timeout=2,
        stagger=2,
    )
    me = proposers.self_id()
    committed = px.committed.cross_singleton(me).sim_output()
    elected = px.elected.cross_singleton(me).sim_output()
    seen = Outcomes()

    def scenario() -> None:
        hl.advance_time(0.2)  # proposer 0 (2 ticks) may campaign; proposer 1 needs 4
        cmd_in.send("a", member=0)
        cmd_in.send("b", member=1)
        hl.advance_time(0.2)
        for m in (0, 1):
            cmd_in.send("c", member=m)
        hl.advance_time(0.3)
        chosen = assert_agreement(committed.collect())
        seen.runs += 1
        seen.leader_changes += len({m.raw_id for _, m in elected.collect()}) > 1
        seen.max_slots = max(seen.max_slots, len(chosen))

    flow.sim(cluster_sizes={Proposers: 2, Acceptors: 3}).fuzz(scenario, iterations=300, seed=0)
    assert seen.runs == 300 and seen.max_slots >= 3 and seen.leader_changes > 0, seen
