"""A Paxos leader's window: at most ``Config.window`` of its commands in flight (proposed, not yet
learned committed), the rest queued in arrival order and proposed as commits free places.

* the proposer's step on its own: the bound, refilling as commits are learned, commands committed
  while queued are skipped, a new leader proposes its backlog a window at a time;
* the simulator: with a window of one command, leader changes still commit every command at every
  proposer and never two values in a slot.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from hydrologic.lang.location import MemberId
from hydrologic.std.paxos.messages import ZERO, Accept, Ballot, Promise
from hydrologic.std.paxos.proposer import Config, ProposerInbox, ProposerState, proposer_step

proposer_module = importlib.import_module("hydrologic.std.paxos.proposer")


def _Member(raw_id: int) -> MemberId[Any]:
    return MemberId(raw_id)


def leader(window: int) -> tuple[Config, ProposerState[str]]:
    cfg = Config(f=1, election_timeout=5, stagger=0, window=window)
    st: ProposerState[str] = ProposerState()
    st.me, st.ballot_num, st.role = 0, 1, "leader"
    return cfg, st


def step(cfg: Config, st: ProposerState[str], commands: list[str] = [], learned: list[tuple[int, str | None]] = [],
         replies: list[Any] = [], timer: int = 0) -> list[Any]:
    inbox = ProposerInbox(list(replies), ZERO, timer, 0 if timer else -1, list(commands), list(learned))
    return proposer_step(cfg, st, inbox).out.to_acceptors


def accepted(msgs: list[Any]) -> list[tuple[int, str | None]]:
    assert all(isinstance(m, Accept) for m in msgs), msgs
    assert len(msgs) <= 1, "a tick's proposals travel in one Accept"
    return [(s, v) for m in msgs for s, v in zip(m.slots, m.values)]


def test_a_leader_keeps_at_most_a_window_in_flight_and_refills_as_commits_arrive() -> None:
    cfg, st = leader(3)
    assert accepted(step(cfg, st, ["a", "b", "c", "d", "e", "f", "g"])) == [(0, "a"), (1, "b"), (2, "c")]
    assert step(cfg, st, ["h"]) == []  # still three in flight
    assert accepted(step(cfg, st, learned=[(0, "a"), (1, "b")])) == [(3, "d"), (4, "e")]
    # "f" was committed elsewhere (an earlier leader's slot) while it waited: it is skipped
    assert accepted(step(cfg, st, learned=[(2, "c"), (9, "f")])) == [(5, "g")]
    assert st.proposed == {"d", "e", "g"} and list(st.queue) == ["h"]
    assert list(st.pending) == ["d", "e", "g", "h"]  # everything not yet committed, queued or not


def test_the_window_bounds_every_tick_however_many_commands_arrive() -> None:
    cfg, st = leader(100)
    sent = accepted(step(cfg, st, [f"c{i}" for i in range(5000)]))
    assert [v for _, v in sent] == [f"c{i}" for i in range(100)]  # the oldest, in arrival order
    assert len(st.pending) == 5000 and len(st.queue) == 4900
    slots = list(range(100))
    for _ in range(49):
        freed = [(s, f"c{s}") for s in slots]
        sent = accepted(step(cfg, st, learned=freed))
        assert len(sent) == 100
        slots = [s for s, _ in sent]
    assert not st.queue and len(st.pending) == 100


def test_no_window_proposes_everything_at_once() -> None:
    cfg, st = leader(0)
    assert len(accepted(step(cfg, st, [f"c{i}" for i in range(2000)]))) == 2000


def test_a_new_leader_proposes_its_backlog_a_window_at_a_time() -> None:
    cfg = Config(f=1, election_timeout=1, stagger=0, window=4)
    st: ProposerState[str] = ProposerState()
    step(cfg, st, [f"c{i}" for i in range(10)])  # a follower keeps them pending
    out = step(cfg, st, timer=1)  # times out and campaigns
    assert st.role == "candidate" and len(out) == 1
    b = st.ballot
    promises = [(_Member(a), Promise(b, ((0, Ballot(0, 1), "old"),))) for a in (0, 1)]
    sent = accepted(step(cfg, st, replies=promises))
    assert st.role == "leader"
    assert sent == [(0, "old"), (1, "c0"), (2, "c1"), (3, "c2"), (4, "c3")]  # the recovered slot, then 4 of 10
    assert len(st.queue) == 6


def test_a_new_leader_re_proposes_a_long_recovered_suffix_a_window_per_tick() -> None:
    """After a whole-cluster restart the uncommitted suffix can be 100,000 slots: re-proposed in
    one tick, that tick (and the acceptors' and learners' after it) outlasted the followers'
    election timeout and the new leader was deposed again and again. A window per step keeps
    every tick short; slots learned committed meanwhile are skipped."""
    cfg = Config(f=1, election_timeout=1, stagger=0, window=3)
    st: ProposerState[str] = ProposerState()
    step(cfg, st, ["new"])  # a follower keeps it pending
    step(cfg, st, timer=1)  # campaigns
    b = st.ballot
    log = tuple((s, Ballot(0, 1), f"v{s}") for s in range(8) if s != 5)  # slot 5 is a hole
    sent = accepted(step(cfg, st, replies=[(_Member(a), Promise(b, log)) for a in (0, 1)]))
    assert st.role == "leader"
    assert sent == [(0, "v0"), (1, "v1"), (2, "v2"), (8, "new")]  # a window of recovery, then the new command
    assert accepted(step(cfg, st, learned=[(4, "v4")])) == [(3, "v3"), (5, None), (6, "v6")]  # 4 was committed
    assert accepted(step(cfg, st, timer=1)) == [(7, "v7")]
    assert not st.recovery and st.next_slot == 9


def test_a_leader_deposed_during_recovery_drops_the_rest_of_it() -> None:
    cfg = Config(f=1, election_timeout=1, stagger=0, window=2)
    st: ProposerState[str] = ProposerState()
    step(cfg, st, timer=1)
    b = st.ballot
    log = tuple((s, Ballot(0, 1), f"v{s}") for s in range(6))
    step(cfg, st, replies=[(_Member(a), Promise(b, log)) for a in (0, 1)])
    assert len(st.recovery) == 4
    from hydrologic.std.paxos.messages import Nack

    assert step(cfg, st, replies=[(_Member(0), Nack(Ballot(9, 1)))]) == []
    assert st.role == "follower" and not st.recovery


def test_a_leader_that_steps_down_forgets_its_queue_but_keeps_the_commands_pending() -> None:
    cfg, st = leader(2)
    step(cfg, st, ["a", "b", "c", "d"])
    from hydrologic.std.paxos.messages import Nack

    step(cfg, st, replies=[(_Member(0), Nack(Ballot(5, 1)))])
    assert st.role == "follower" and not st.queue and not st.proposed
    assert list(st.pending) == ["a", "b", "c", "d"]  # a later leader (maybe this one) proposes them


# ---- the simulator -----------------------------------------------------------------------------------


@pytest.mark.parametrize("window", [1, 2])
def test_leader_changes_commit_everything_with_a_tiny_window_sim(window: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_paxos_sim import Outcomes, leader_change_scenario, program

    monkeypatch.setattr(proposer_module, "WINDOW", window)
    p = program(2, 3, 1)
    seen = Outcomes()
    p.sim().fuzz(leader_change_scenario(p, 2, seen), iterations=300, seed=11)
    assert seen.runs == 300 and seen.leader_changes > 0


def test_a_ticks_proposals_and_votes_travel_as_one_run_each() -> None:
    """A leader's proposals of one tick travel in one Accept, and an acceptor answers each Accept
    with one Accepted run: a frame then pickles a tuple of values instead of one object per slot,
    and each learner decodes one message per acceptor per tick instead of one per slot (decoding
    and building per-slot messages were a fifth of a loaded leader's time); the votes it holds
    are then counted per slot."""
    import pickle

    from hydrologic.std.paxos.acceptor import AcceptorState, acceptor_step
    from hydrologic.std.paxos.learner import vote_of
    from hydrologic.std.paxos.messages import Accepted

    cfg, st = leader(100)
    sent = step(cfg, st, [f"c{i}" for i in range(50)])
    assert len(sent) == 1 and sent[0].slots == tuple(range(50))
    acc: AcceptorState[str] = AcceptorState()
    replies = acceptor_step(0, acc, ([(_Member(0), m) for m in sent], 0)).out
    assert [type(m) for _, m in replies] == [Accepted]
    run = replies[0][1]
    assert run.slots == tuple(range(50)) and run.values == tuple(f"c{i}" for i in range(50))
    assert pickle.loads(pickle.dumps(run, protocol=5)) == run
    a2 = _Member(2)
    votes = vote_of((a2, run))
    assert votes[0] == (0, (run.ballot, "c0", a2)) and len(votes) == 50