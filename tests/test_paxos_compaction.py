"""Checkpoints, log compaction and state transfer for Multi-Paxos (``paxos(checkpoints=...)`` with
``checkpointed_replica``).

The rules one by one (an acceptor drops only what f + 1 replicas have checkpointed, a new leader
neither recovers nor re-proposes dropped slots, a replica checkpoints, answers and installs
snapshots), then the simulator: replicas crash and restart while commands commit and the log is
compacted; after every step no acceptor has dropped a slot that fewer than f + 1 replicas hold in
a durable checkpoint, every replica's state is a prefix of every other's, and at the end every
replica has every committed command, some of them only by installing a peer's snapshot.
"""

from __future__ import annotations

import importlib
import pickle
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import InvariantViolation, World
from hydrologic.std.paxos import Accept, Accepted, Ballot, Prepare, Promise, Snapshot, SnapshotChunk, SnapshotRequest, checkpointed_replica, paxos
from hydrologic.storage import DELETE

acceptor_module = importlib.import_module("hydrologic.std.paxos.acceptor")
proposer_module = importlib.import_module("hydrologic.std.paxos.proposer")
checkpoints_module = importlib.import_module("hydrologic.std.paxos.checkpoints")
learner_module = importlib.import_module("hydrologic.std.paxos.learner")


class Proposers: ...


class Acceptors: ...


P0: Any = hl.MemberId(0)
B1, B2 = Ballot(1, 0), Ballot(2, 1)


# ---- the acceptor's rule ------------------------------------------------------------------------


def test_the_compaction_point_is_the_highest_checkpoint_f_plus_1_replicas_hold() -> None:
    point = acceptor_module.compaction_point
    assert point(1, {}) == 0 and point(1, {0: 40}) == 0  # one replica alone is not enough with f = 1
    assert point(1, {0: 40, 1: 10}) == 10
    assert point(1, {0: 40, 1: 10, 2: 30}) == 30  # a dead or lagging replica does not hold it back
    assert point(0, {0: 40, 1: 10}) == 40


def _accepted(st: Any, slots: range) -> Any:
    return acceptor_module.compacting_acceptor_step(0, 1, st, ([(P0, Accept(B1, tuple(slots), tuple(f"v{s}" for s in slots)))], 0, []))


def test_an_acceptor_drops_the_slots_below_the_compaction_point_from_memory_and_disk() -> None:
    st: Any = acceptor_module.DurableAcceptorState.start()
    st = _accepted(st, range(10))
    st.durable_records()
    st = acceptor_module.compacting_acceptor_step(0, 1, st, ([], 0, [(0, 6)]))
    assert st.compacted == 0 and len(st.log) == 10 and st.durable_records() == []  # one report: keep all
    st = acceptor_module.compacting_acceptor_step(0, 1, st, ([], 0, [(2, 4)]))
    assert st.compacted == 4 and sorted(st.log) == [4, 5, 6, 7, 8, 9]
    records = dict(st.durable_records())
    assert records == {0: DELETE, 1: DELETE, 2: DELETE, 3: DELETE, "compacted": 4}
    # a restarted acceptor keeps its compaction point
    restored: Any = acceptor_module.DurableAcceptorState.start()
    restored.restore_records({"compacted": 4, 5: (B1, "v5")})
    assert restored.compacted == 4 and restored.log == {5: (B1, "v5")}


def test_an_acceptor_keeps_no_dropped_slot_but_echoes_the_whole_run_and_reports_its_compaction_point() -> None:
    st: Any = acceptor_module.AcceptorState.start()
    st = _accepted(st, range(6))
    st = acceptor_module.compacting_acceptor_step(0, 1, st, ([], 0, [(0, 4), (1, 5)]))
    assert st.compacted == 4
    st = acceptor_module.compacting_acceptor_step(0, 1, st, ([(P0, Accept(B1, (2, 7), (None, "x")))], 0, []))
    # slot 2 is not kept, but the reply echoes the leader's whole run (its value for slot 2 is the chosen one)
    assert st.out == [(None, Accepted(B1, (2, 7), (None, "x")))] and 2 not in st.log and st.log[7] == (B1, "x")
    st = acceptor_module.compacting_acceptor_step(0, 1, st, ([(P0, Prepare(B2, 0))], 0, []))
    (_, promise), = st.out
    assert isinstance(promise, Promise) and promise.compacted == 4
    assert [s for s, _, _ in promise.log] == [4, 5, 7]


def test_a_new_leader_neither_recovers_nor_re_proposes_dropped_slots() -> None:
    """Without the compaction point, a leader would fill the dropped slots 0-3 with no-ops."""
    cfg = proposer_module.Config(f=1, election_timeout=1, stagger=0)
    st: Any = proposer_module.ProposerState.start()
    st = proposer_module.proposer_step(cfg, st, proposer_module.ProposerInbox([], Ballot(0, -1), 1, 0, [], []))
    assert st.role == "candidate"
    ballot = st.ballot
    log = ((4, B1, "v4"), (5, B1, "v5"))
    promises = [(hl.MemberId(0), Promise(ballot, log, 4)), (hl.MemberId(1), Promise(ballot, log[1:], 5))]
    st = proposer_module.proposer_step(cfg, st, proposer_module.ProposerInbox(promises, Ballot(0, -1), 0, 0, [], []))
    assert st.role == "leader"
    assert [(s, v) for m in st.out.to_acceptors for s, v in zip(m.slots, m.values)] == [(5, "v5")]  # slot 4 < 5 is chosen too
    assert st.committed_upto == 5 and st.next_slot == 6


# ---- the replica's rule -------------------------------------------------------------------------


def _append(state: tuple[str, ...], command: str) -> tuple[tuple[str, ...], int]:
    """The test's state machine: the commands in the order applied, each once."""
    if command in state:
        return state, -1
    return state + (command,), len(state)


def _replica(every: int = 3, after: int = 2) -> tuple[Any, Any]:
    cfg = checkpoints_module.ReplicaConfig(every, after)
    return cfg, checkpoints_module.ReplicaState(_append, (), tuple)


def test_a_replica_checkpoints_every_n_slots_and_restarts_from_its_checkpoint() -> None:
    cfg, st = _replica(every=3)
    step = checkpoints_module.replica_step
    st = step(cfg, st, (([(0, "a"), (1, None), (2, "b"), (3, "c")], []), 0))
    assert [c for _, c, _ in st.applied] == ["a", "b", "c"] and st.checkpoints == [4] and st.snapshot_slot == 4
    # a plain state (not an IncrementalCheckpoint) is one record, pickled whole, written with the slot
    records = st.durable_records()
    assert records == [(("k", 0, "state"), pickle.dumps(("a", "b", "c"), protocol=5)), ("meta", (4, 0))]
    assert st.durable_records() == []
    st = step(cfg, st, (([(4, "d")], []), 0))
    assert st.checkpoints == [] and st.suffix == [(4, "d")] and st.durable_records() == []
    restarted: Any = checkpoints_module.ReplicaState(_append, (), tuple)
    restarted.restore_records(dict(records))
    assert restarted.state == ("a", "b", "c") and restarted.next_slot == 4
    # a restarted replica asks every peer at once, without waiting for a gap
    restarted = step(cfg, restarted, (([], []), 0))
    assert restarted.to_peers == [(checkpoints_module.EVERY_PEER, SnapshotRequest(4))]
    restarted = step(cfg, restarted, (([], []), 5))
    assert restarted.to_peers == []


def test_a_replica_at_a_gap_asks_a_peer_and_installs_its_state() -> None:
    cfg, peer = _replica(every=3)
    step = checkpoints_module.replica_step
    peer = step(cfg, peer, (([(s, f"c{s}") for s in range(3)], []), 0))  # checkpoint at 3
    peer = step(cfg, peer, (([(3, "c3"), (4, "c4")], []), 0))  # applied since: 3, 4
    _, lagging = _replica(every=3, after=2)
    lagging = step(cfg, lagging, (([(0, "c0"), (6, "c6")], []), 1))  # slots 1-5 never came
    lagging = step(cfg, lagging, (([], []), 3))  # one silent tick of the clock (however many events)
    assert lagging.to_peers == []
    lagging = step(cfg, lagging, (([], []), 1))  # a second one: ask
    ((peer_index, request),) = lagging.to_peers
    assert peer_index == 0 and request == SnapshotRequest(1)
    peer = step(cfg, peer, (([], [(hl.MemberId(1), request)]), 0))
    # slot 1 is below the peer's checkpoint: it sends its state (one chunk: a plain state is one record)
    ((to, answer),) = peer.to_peers
    assert to == hl.MemberId(1) and isinstance(answer, SnapshotChunk) and answer.slot == 5 and answer.index == 0
    assert pickle.loads(dict(answer.records)["state"]) == tuple(f"c{s}" for s in range(5))
    lagging = step(cfg, lagging, (([(5, "c5")], [(hl.MemberId(0), answer)]), 0))
    assert lagging.installed == 1 and lagging.next_slot == 7 and lagging.state == tuple(f"c{s}" for s in range(7))
    assert [s for s, _, _ in lagging.applied] == [5, 6]
    # the installed state becomes its checkpoint, in a new generation; the old one is deleted
    assert lagging.checkpoints == [7] and lagging.gen == 1
    # a requester that needs only entries the peer applied since its checkpoint gets those
    peer = step(cfg, peer, (([], [(hl.MemberId(1), SnapshotRequest(4))]), 0))
    assert peer.to_peers[0][1] == Snapshot(3, ((4, "c4"),))
    peer = step(cfg, peer, (([], [(hl.MemberId(1), SnapshotRequest(5))]), 0))
    assert peer.to_peers == []  # nothing the requester lacks


def test_checkpointed_replica_checks_its_parameters() -> None:
    flow = hl.FlowBuilder()
    proposers = flow.cluster(Proposers)
    _, committed = proposers.sim_input(tuple)
    _, clock = proposers.sim_input(type(None))
    with pytest.raises(hl.UsageError, match="checkpoint_every >= 1"):
        checkpointed_replica(
            committed, proposers, clock, tuple, _append, nondet_catch_up=nondet("test"), checkpoint_every=0  # type: ignore[arg-type]
        )


# ---- the simulator: crashes, compaction and state transfer together -----------------------------


@dataclass
class Program:
    flow: hl.FlowBuilder
    commands: hl.SimInput[str]
    clock: hl.SimInput[None]
    committed: hl.SimOutput[tuple[tuple[int, str | None], hl.MemberId[Proposers]]]
    sizes: dict[Any, int]
    f: int

    def sim(self) -> Any:
        return self.flow.sim(cluster_sizes=self.sizes)


def program(n_proposers: int, n_acceptors: int, f: int, *, every: int) -> Program:
    flow = hl.FlowBuilder()
    proposers = flow.cluster(Proposers)
    acceptors = flow.cluster(Acceptors)
    cmd_in, commands = proposers.sim_input(str)
    clock_in, clock = proposers.sim_input(type(None))
    ckpt_ref, ckpt = proposers.forward_ref(int, hl.TotalOrder)
    px = paxos(
        proposers, acceptors, commands, clock, f=f,
        nondet_leader=nondet("the test drives timeouts; any proposer may lead"),
        nondet_commit=nondet("the test accepts any slot for any command"),
        election_timeout=1, stagger=0, durable="px", checkpoints=ckpt,
    )
    replica = checkpointed_replica(
        px.committed, proposers, clock, tuple, _append,
        nondet_catch_up=nondet("the test accepts catching up by entries or by a snapshot"),
        checkpoint_every=every, catch_up_after=1, durable="replica",
    )
    ckpt_ref.complete(replica.checkpoints)
    me = proposers.self_id()
    return Program(flow, cmd_in, clock_in, px.committed.cross_singleton(me).sim_output(), {Proposers: n_proposers, Acceptors: n_acceptors}, f)


@dataclass
class Seen:
    runs: int = 0
    installed: int = 0  # executions in which some replica installed a peer's snapshot
    compacted: int = 0  # executions in which some acceptor dropped slots
    caught_up: int = 0  # executions that ended with every replica holding every committed command
    view: dict[str, Any] = field(default_factory=lambda: {})  # the latest state the invariant saw


def compaction_is_covered_and_replicas_agree(f: int, seen: Seen) -> Callable[[World], None]:
    """After every step, crash and restart: no acceptor keeps a slot below its compaction point
    or has dropped a slot that fewer than f + 1 replicas hold in a durable checkpoint, and every
    replica's state is a prefix of every other's (no chosen value lost or changed)."""

    def invariant(world: World) -> None:
        replicas = world.members(Proposers)
        stepped = {r.name: r["replica"] for r in replicas if not r.crashed and r["replica"] is not None}
        # checkpoints are durable: a crashed replica still holds the highest one it wrote
        best = world.memory.setdefault("snapshots", {})
        for name, rep in stepped.items():
            best[name] = max(best.get(name, 0), rep.snapshot_slot)
        held = sorted(best.values(), reverse=True)
        compacted_any = 0
        for acceptor in world.members(Acceptors):
            if acceptor.crashed:
                continue
            st = acceptor["px.acceptor"]
            compacted = getattr(st, "compacted", 0)
            compacted_any = max(compacted_any, compacted)
            assert all(slot >= compacted for slot in getattr(st, "log", {})), f"{acceptor.name} kept a dropped slot"
            if compacted:
                assert len(held) > f and held[f] >= compacted, (
                    f"{acceptor.name} dropped the slots below {compacted}, but only "
                    f"{sum(h >= compacted for h in held)} replica(s) hold a checkpoint that covers them "
                    f"(f + 1 = {f + 1} needed)"
                )
        live = list(stepped.values())
        states = [r.state for r in live]
        for a in states:
            for b in states:
                short, long = (a, b) if len(a) <= len(b) else (b, a)
                assert long[: len(short)] == short, f"replicas disagree: {a} vs {b}"
        seen.view = {
            "states": states,
            "all_up": not any(r.crashed for r in replicas) and len(live) == len(replicas),
            "installed": world.memory.get("installed", False) or any(r.installed for r in live),
            "compacted": compacted_any,
        }
        world.memory["installed"] = seen.view["installed"]

    return invariant


COMMANDS = [f"c{i}" for i in range(6)]
ITERATIONS = 60


def catch_up_scenario(p: Program, n_proposers: int, seen: Seen) -> Callable[[], None]:
    """Proposer 0 leads and commits six commands (sent to every proposer) while the simulator may
    crash and restart proposers; then the clocks run and one more command is committed, so a
    replica that missed slots finds the gap and catches up."""

    def scenario() -> None:
        p.clock.send(None, member=0)
        for c in COMMANDS:
            for m in range(n_proposers):
                p.commands.send(c, member=m)
        got = p.committed.collect()
        for _ in range(3):
            for m in range(n_proposers):
                p.clock.send(None, member=m)
            got += p.committed.collect()
        for m in range(n_proposers):
            p.commands.send("last", member=m)
        for _ in range(4):
            for m in range(n_proposers):
                p.clock.send(None, member=m)
            got += p.committed.collect()
        chosen: dict[int, Any] = {}
        for (slot, value), member in got:
            assert chosen.setdefault(slot, value) == value, f"slot {slot}: {chosen[slot]!r} and {value!r} at {member}"
        seen.runs += 1
        view = seen.view
        seen.installed += bool(view["installed"])
        seen.compacted += view["compacted"] > 0
        committed = {v for v in chosen.values() if v is not None}
        if view["all_up"] and all(committed <= set(s) for s in view["states"]):
            seen.caught_up += 1

    return scenario


def test_compaction_keeps_every_chosen_value_and_a_replica_that_missed_slots_catches_up_by_snapshot() -> None:
    p = program(2, 1, 0, every=2)
    sim = p.sim()
    seen = Seen()
    sim.invariant(compaction_is_covered_and_replicas_agree(0, seen))
    sim.faults(crashes=2, locations=[Proposers])  # the replicas crash and restart
    runs = sim.fuzz(catch_up_scenario(p, 2, seen), iterations=ITERATIONS, seed=5)
    assert runs == seen.runs == ITERATIONS
    print(seen.installed, seen.compacted, seen.caught_up)
    assert seen.installed >= 1 and seen.compacted == ITERATIONS and seen.caught_up == ITERATIONS, seen


def test_with_three_acceptors_compaction_waits_for_f_plus_1_checkpoints() -> None:
    p = program(2, 3, 1, every=2)
    sim = p.sim()
    seen = Seen()
    sim.invariant(compaction_is_covered_and_replicas_agree(1, seen))
    runs = sim.fuzz(catch_up_scenario(p, 2, seen), iterations=30, seed=6, crashes=1)
    assert runs == seen.runs == 30
    assert seen.compacted > 15 and seen.caught_up > 15, seen


def test_an_acceptor_that_compacts_on_one_checkpoint_breaks_the_invariant(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seeded bug: an acceptor drops the log below the *highest* checkpoint any replica
    reported; with f = 1 that is one replica's, and the search catches it."""
    monkeypatch.setattr(acceptor_module, "compaction_point", lambda f, ckpts: max(ckpts.values(), default=0))
    p = program(2, 3, 1, every=2)
    sim = p.sim()
    sim.invariant(compaction_is_covered_and_replicas_agree(1, Seen()))
    with pytest.raises(InvariantViolation) as info:
        sim.fuzz(catch_up_scenario(p, 2, Seen()), iterations=60, seed=6)
    assert "replica(s) hold a checkpoint that covers them (f + 1 = 2 needed)" in str(info.value)


def test_a_checkpoint_of_its_replica_advances_a_proposers_committed_prefix() -> None:
    """A restarted proposer's learner missed the slots before its restart: without the mark it
    would keep every later slot in ``committed_above`` forever."""
    cfg = proposer_module.Config(f=1, election_timeout=5, stagger=0)
    st: Any = proposer_module.ProposerState.start()
    learned = [(s, f"v{s}") for s in (7, 8, 10)]
    st = proposer_module.proposer_step(cfg, st, proposer_module.ProposerInbox([], Ballot(0, -1), 0, 0, [], learned))
    assert st.committed_upto == 0 and st.committed_above == {7, 8, 10}
    mark = proposer_module.checkpoint_mark(7)
    st = proposer_module.proposer_step(cfg, st, proposer_module.ProposerInbox([], Ballot(0, -1), 0, 0, [], [mark]))
    assert st.committed_upto == 9 and st.committed_above == {10}


def test_the_windowed_learner_keeps_the_newest_slot_per_position_whatever_the_order() -> None:
    """Slots 1 and 5 share a position of a window of 4: votes for slot 5 replace slot 1's tally,
    later votes for slot 1 are dropped; every order of the same votes ends in the same tally."""
    import itertools

    f = 1
    votes = [(1, (B1, "a", 0)), (5, (B1, "e", 0)), (5, (B1, "e", 1)), (1, (B1, "a", 1))]
    finals = set()
    for order in itertools.permutations(votes):
        acc = learner_module.no_slot()
        for v in order:
            acc = learner_module.tally_windowed(f, acc, v)
        finals.add(acc)
        assert learner_module.windowed_decided_of((1, acc)) == [(5, "e")]
    assert len(finals) == 1
    # slot 1 alone reaches its quorum before slot 5 arrives: it is decided (and emitted) first
    acc = learner_module.no_slot()
    acc = learner_module.tally_windowed(f, acc, votes[0])
    acc = learner_module.tally_windowed(f, acc, votes[3])
    assert learner_module.windowed_decided_of((1, acc)) == [(1, "a")]
    # a third vote for the chosen value changes nothing (the same object: not re-emitted)
    assert learner_module.tally_windowed(f, acc, (1, (B1, "a", 2))) is acc
    # an acceptor's run is one vote per slot, keyed by position
    run = Accepted(B1, (5, 6), ("e", "f"))
    a2 = hl.MemberId(2)  # votes keep the acceptor's MemberId (the simulator's symmetry reduction renames it)
    assert learner_module.windowed_vote_of(4, (a2, run)) == [(1, (5, (B1, "e", a2))), (2, (6, (B1, "f", a2)))]


def test_the_learners_fast_second_vote_agrees_with_the_general_tally() -> None:
    """The shortcut for the usual second vote decides exactly when counting would."""
    f = 1
    first = (7, (B1, "a", 0))
    for second, decided in [((7, (B1, "a", 1)), True), ((7, (B1, "a", 0)), False), ((7, (B1, "b", 1)), False),
                            ((7, (Ballot(2, 1), "a", 1)), False)]:
        acc = learner_module.tally_windowed(f, learner_module.tally_windowed(f, learner_module.no_slot(), first), second)
        general = learner_module.tally_vote(f, learner_module.tally_vote(f, learner_module.no_votes(), first[1]), second[1])
        assert acc.tally == general
        assert bool(learner_module.windowed_decided_of((7, acc))) is decided


def _reference_tally_vote(f: int, tally: Any, vote: Any) -> Any:
    """The tally as first written (a set union and a count), to check the faster one against."""
    Decided = learner_module.Decided
    ballot, value, _ = vote
    if isinstance(tally, Decided):
        if value in tally.chosen:
            return tally
        others = tally.others | {vote}
        if sum(1 for b, v, _a in others if b == ballot and v == value) >= f + 1:
            return Decided(tally.chosen + (value,), learner_module._without(others, value))
        return Decided(tally.chosen, others)
    votes = tally | {vote}
    if sum(1 for b, v, _a in votes if b == ballot and v == value) >= f + 1:
        return Decided((value,), learner_module._without(votes, value))
    return votes


@settings(max_examples=400, deadline=None)
@given(
    f=st.integers(0, 2),
    votes=st.lists(
        st.tuples(st.sampled_from([Ballot(1, 0), Ballot(2, 1), Ballot(2, 0)]), st.sampled_from(["a", "b", "c"]), st.integers(0, 4)),
        max_size=12,
    ),
)
def test_the_tally_agrees_with_counting_votes_one_by_one(f: int, votes: list[Any]) -> None:
    """Every sequence of votes (duplicates, late votes, rival ballots and values) ends in the
    same tally, decided or not, with the same chosen values in the same order and the same
    leftover votes, as the set-and-count tally it replaced."""
    fast, ref = learner_module.no_votes(), learner_module.no_votes()
    for vote in votes:
        # equal Ballots that are different objects too: identity is only a shortcut
        ballot = vote[0] if vote[2] % 2 else Ballot(vote[0].num, vote[0].proposer)
        fast = learner_module.tally_vote(f, fast, (ballot, vote[1], vote[2]))
        ref = _reference_tally_vote(f, ref, vote)
        if isinstance(ref, learner_module.Decided):
            assert type(fast) is learner_module.Decided
            assert fast.chosen == ref.chosen and fast.others == ref.others
        elif len(ref) == 1:  # one vote is kept as a 1-tuple (it is never hashed)
            assert type(fast) is tuple and fast == tuple(ref)
        else:
            assert type(fast) is frozenset and fast == ref


@settings(max_examples=300, deadline=None)
@given(
    f=st.integers(0, 2),
    votes=st.lists(
        st.tuples(st.sampled_from([3, 7, 11]), st.sampled_from([Ballot(1, 0), Ballot(2, 1)]), st.sampled_from(["a", "b"]), st.integers(0, 3)),
        max_size=12,
    ),
)
def test_the_windowed_tally_decides_exactly_when_the_plain_tally_of_the_newest_slot_does(f: int, votes: list[Any]) -> None:
    """Slots 3, 7 and 11 share position 3 of a window of 4. Whatever the order of their votes,
    and for every f (f = 0: a single vote is a quorum), the windowed tally holds the newest slot
    seen, with the plain tally of that slot's votes that came after it became the newest, and
    emits a decision exactly when that plain tally is decided."""
    acc = learner_module.no_slot()
    newest, plain = -1, learner_module.no_votes()
    for slot, ballot, value, acceptor in votes:
        vote = (ballot, value, acceptor)
        acc = learner_module.tally_windowed(f, acc, (slot, vote))
        if slot > newest:
            newest, plain = slot, learner_module.tally_vote(f, learner_module.no_votes(), vote)
        elif slot == newest:
            plain = learner_module.tally_vote(f, plain, vote)
        assert acc.slot == newest and acc.tally == plain
        decided = learner_module.windowed_decided_of((3, acc))
        assert bool(decided) is (type(plain) is learner_module.Decided)
        if decided:
            assert decided == [(newest, plain.chosen[-1])]  # type: ignore[union-attr]
