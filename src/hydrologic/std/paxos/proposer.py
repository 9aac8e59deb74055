"""The Multi-Paxos proposer (leader election, phase 1 and phase 2a) as a pure state machine.

Each proposer's tick batches five inputs (acceptor replies, heartbeats, timer events, client
commands, commits its learner found) into one inbox (``ProposerInbox``); its state
(``ProposerState``) lives in a top-level ``scan`` over the inboxes whose step is
``proposer_step``. Leader election: a proposer that counts ``election_timeout`` ticks that saw
its clock (plus ``stagger`` per member index, so members do not duel) without a heartbeat or, as
a follower, a newly learned commit, campaigns with a fresh, higher ballot and its committed
prefix (phase 1); with ``f + 1`` promises it takes office: it re-proposes, for every uncommitted
slot from that prefix up to the highest one any promise reported, the value with the highest
ballot, and fills holes with no-ops (``None``), at most ``Config.window`` slots per tick (a
long suffix after a whole-cluster restart is re-proposed over many short ticks, so heartbeats
keep leaving); then it proposes its pending commands (phase 2), at most ``Config.window`` of them
in flight at a time (the rest queued until commits free room). A
leader sends a heartbeat on each tick that saw its clock and steps down as soon as it sees a
higher ballot. Learned commits remove commands from the pending set, so a proposer's memory and
a leader change's work follow the commands in flight, not the log.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Generic, Hashable, Literal, TypeVar

from ...lang.location import MemberId
from .messages import ZERO, Accept, Accepted, Ballot, FromAcceptor, KeepAlive, Nack, Prepare, Promise, ToAcceptor

log = logging.getLogger("hydrologic.std.paxos")

T = TypeVar("T", bound=Hashable)

EARLY_LIMIT = 1 << 16  # commands a proposer remembers having learned committed before they arrived
WINDOW = 1024  # commands a leader keeps proposed but not yet learned committed (0: no bound)


@dataclass(frozen=True)
class Config:
    f: int
    election_timeout: int
    stagger: int
    lease: int = 0  # acceptor clock ticks a KeepAlive grants (0: no leases)
    # A leader's commands in flight: proposed, not yet learned committed (0: no bound). Read from
    # ``WINDOW`` when the configuration is made, so a test can set a small one.
    window: int = field(default_factory=lambda: WINDOW)


Role = Literal["follower", "candidate", "leader"]


@dataclass(eq=False)
class ProposerState(Generic[T]):
    """One proposer's state. It lives in that member's scan, which updates it in place and emits
    it after each step; ``out`` holds the messages of the latest step only (a fresh object per
    step, read at once downstream), so nothing else ever sees the state change."""

    me: int = -1  # raw member id, learned from the first timer event
    ballot_num: int = 0
    max_seen: Ballot = ZERO
    role: Role = "follower"
    idle: int = 0  # timer events since a heartbeat or since campaigning
    promises: dict[MemberId[Any], tuple[tuple[int, Ballot, T | None], ...]] = field(default_factory=lambda: {})
    next_slot: int = 0
    pending: dict[T, None] = field(default_factory=lambda: {})  # insertion-ordered set, not yet committed
    proposed: set[T] = field(default_factory=lambda: set())  # proposed in the current term, not yet committed
    # A leader's pending commands not yet proposed, oldest first: it proposes from here while
    # fewer than ``Config.window`` of its commands are in flight (entries committed or proposed
    # meanwhile are skipped when reached).
    queue: deque[T] = field(default_factory=lambda: deque())
    # A new leader's recovered slots not yet re-proposed, lowest first: (slot, value or None for
    # a no-op). Re-proposed at most ``Config.window`` per step, so that taking office over a long
    # uncommitted suffix (a whole-cluster restart) is many short ticks, not one long one.
    recovery: deque[tuple[int, Any]] = field(default_factory=lambda: deque())
    recover_from: int = 0  # the ``from_slot`` of this proposer's latest Prepare
    # What the learner has reported so far: the committed prefix, and committed slots past it.
    committed_upto: int = 0  # every slot below this one is committed
    committed_above: set[int] = field(default_factory=lambda: set())  # committed slots >= committed_upto
    # Commands learned committed before they arrived here (the learner can be ahead of the
    # command's own channel); remembered, up to EARLY_LIMIT of them, so that the command is not
    # kept pending when it does arrive (a new leader would propose it again).
    early: dict[T, None] = field(default_factory=lambda: {})
    out: ProposerOutput[T] = field(default_factory=lambda: ProposerOutput())
    ballot_changed: bool = False  # a new ballot number, not yet written (durable proposers)
    # --- checkpoints: the highest compaction point the current campaign's promises reported
    # (every slot below it is chosen and checkpointed: not recovered, not re-proposed)
    compacted: int = 0

    @staticmethod
    def start() -> ProposerState[T]:
        return ProposerState()

    @property
    def ballot(self) -> Ballot:
        return Ballot(self.ballot_num, self.me)

    def __sim_state__(self) -> tuple[Any, ...]:
        """What the simulator's state cache compares (``exhaustive(states=True)``): everything
        a later step reads. Not ``out``, which only the step that wrote it reads; ``promises``,
        ``proposed`` and ``committed_above`` in a canonical order, since only their contents
        are read (counted, merged by highest ballot, tested for membership), never their order.
        ``promises`` as a set of (acceptor, log) pairs, which the simulator orders after it
        renames acceptors (symmetry reduction), where a tuple sorted here would keep the order
        of the old names. ``pending`` and ``early`` keep theirs: commands are proposed, and
        forgotten, in it."""
        return (
            type(self).__name__, self.me, self.ballot_num, self.max_seen, self.role, self.idle,
            frozenset(self.promises.items()), self.next_slot, tuple(self.pending),
            tuple(sorted(self.proposed, key=repr)), self.recover_from, self.committed_upto,
            tuple(sorted(self.committed_above)), tuple(self.early), self.ballot_changed,
            tuple(self.recovery),
        )

    def __repr__(self) -> str:
        return (
            f"Proposer(p{self.me} {self.role} {self.ballot!r} max_seen={self.max_seen!r} idle={self.idle} "
            f"next_slot={self.next_slot} pending={len(self.pending)} committed_upto={self.committed_upto})"
        )


@dataclass
class ProposerOutput(Generic[T]):
    """What one proposer step sends (a fresh object per step)."""

    to_acceptors: list[ToAcceptor[T]] = field(default_factory=lambda: [])
    heartbeats: list[Ballot] = field(default_factory=lambda: [])
    elected: list[Ballot] = field(default_factory=lambda: [])


BALLOT = "ballot"  # the record key of a durable proposer's highest ballot number


@dataclass(eq=False, repr=False)
class DurableProposerState(ProposerState[T]):
    """A proposer that remembers, across a restart, the highest ballot number it has used
    (``paxos(durable=...)``): one small record, written only when it campaigns.

    A restarted proposer therefore campaigns above every ballot it could have used before, and
    never proposes a second value under a ballot whose Accept messages may still be in flight.
    Output gating holds the Prepare of a new ballot until the number is on disk. Everything else
    (pending commands, the committed prefix) is rebuilt: clients resend commands to every
    proposer, and a proposer learns commits again from the acceptors.
    """

    @staticmethod
    def start() -> ProposerState[T]:
        return DurableProposerState()

    def durable_records(self) -> list[tuple[Any, Any]]:
        if not self.ballot_changed:
            return []
        self.ballot_changed = False
        return [(BALLOT, self.ballot_num)]

    def restore_records(self, records: dict[Any, Any]) -> None:
        self.ballot_num = int(records.get(BALLOT, 0))


@dataclass(frozen=True)
class ProposerInbox(Generic[T]):
    """Everything one proposer tick took in."""

    replies: list[tuple[MemberId[Any], FromAcceptor[T]]]  # promises and refusals
    heard: Ballot  # highest heartbeat ballot, ZERO if none
    timer_events: int
    member: int  # this proposer's raw id (-1 when no timer event came)
    commands: list[T]
    learned: list[tuple[int, T | None]]  # entries the learner found committed

    @staticmethod
    def of(
        x: tuple[
            tuple[tuple[tuple[list[tuple[MemberId[Any], FromAcceptor[T]]], Ballot], tuple[int, int]], list[T]],
            list[tuple[int, T | None]],
        ],
    ) -> ProposerInbox[T]:
        (((replies, heard), (timer_events, member)), commands), learned = x
        return ProposerInbox(replies, heard, timer_events, member, commands, learned)


def proposer_step(
    cfg: Config, st: ProposerState[T], inbox: ProposerInbox[T]
) -> ProposerState[T]:
    """One proposer tick. The result does not depend on the order of messages within the tick."""
    out: ProposerOutput[T] = ProposerOutput()
    st.out = out
    replies, heard, timer_events, member, commands = (
        inbox.replies,
        inbox.heard,
        inbox.timer_events,
        inbox.member,
        inbox.commands,
    )
    if st.me < 0 and member >= 0:
        st.me = member

    # 0. Commits the learner found: a committed command is forgotten (not proposed again).
    for slot, value in inbox.learned:
        if isinstance(value, CheckpointMark):
            _checkpointed(st, slot)
        else:
            _learned(st, slot, value)

    # 1. Ballots seen: a refusal or a heartbeat with a higher ballot than ours ends our term.
    for _, msg in replies:
        if isinstance(msg, Nack):
            st.max_seen = max(st.max_seen, msg.ballot)
    st.max_seen = max(st.max_seen, heard)
    if st.role != "follower" and st.max_seen > st.ballot:
        _step_down(st)

    # 2. Phase 1b: promises for our current ballot; f + 1 of them make us leader.
    if st.role == "candidate":
        for acceptor, msg in replies:
            if isinstance(msg, Promise) and msg.ballot == st.ballot:
                st.promises[acceptor] = msg.log
                st.compacted = max(st.compacted, msg.compacted)
        if len(st.promises) >= cfg.f + 1:
            _take_office(st, out)

    # 3. Failure detection: heartbeats reset the clock, and so does, for a follower, learning of
    # new commits: some leader is making progress (as a Raft follower resets its timer on every
    # AppendEntries). A follower that lags behind a busy leader may find the leader's heartbeats
    # late, behind the votes it is still working through, and must not depose it. Otherwise each
    # tick that saw the clock move counts once, however many timer events it took in: after a
    # slow tick, a burst of overdue events is one silent period, not many (a loaded process is
    # patient instead of starting elections that add more load).
    if heard != ZERO or (inbox.learned and st.role == "follower"):
        st.idle = 0
    elif timer_events and st.role != "leader":
        st.idle += 1
        if st.idle >= cfg.election_timeout + cfg.stagger * st.me:
            _campaign(st, out)

    # 4. Commands: keep every one until it is learned committed; a leader proposes it.
    for c in commands:
        if c in st.pending:
            continue
        if c in st.early:
            del st.early[c]
            continue
        st.pending[c] = None
        if st.role == "leader":
            st.queue.append(c)
    if st.role == "leader" and (st.queue or st.recovery):
        _fill_window(cfg, st, out)

    # 5. A leader's heartbeat, once per tick that saw its clock move (and, with leases, its
    # lease renewal at every acceptor).
    if st.role == "leader" and timer_events:
        out.heartbeats.append(st.ballot)
        if cfg.lease:
            out.to_acceptors.append(KeepAlive(st.ballot))
    return st


def _learned(st: ProposerState[T], slot: int, value: T | None) -> None:
    upto, above = st.committed_upto, st.committed_above
    if slot == upto and not above:  # the usual case: commits learned in slot order
        st.committed_upto = upto + 1
    else:
        if slot < upto or slot in above:
            return
        above.add(slot)
        while upto in above:
            above.remove(upto)
            upto += 1
        st.committed_upto = upto
    if value is None:
        return
    st.proposed.discard(value)
    if value in st.pending:
        del st.pending[value]
    else:
        st.early[value] = None
        if len(st.early) > EARLY_LIMIT:
            del st.early[next(iter(st.early))]  # the oldest: a command this late is only repeated


def _is_committed(st: ProposerState[Any], slot: int) -> bool:
    return slot < st.committed_upto or slot in st.committed_above


def _step_down(st: ProposerState[T]) -> None:
    st.role = "follower"
    st.promises = {}
    st.proposed = set()
    st.queue = deque()
    st.recovery = deque()
    st.idle = 0


def _campaign(st: ProposerState[T], out: ProposerOutput[T]) -> None:
    # A ballot is never reused: a new term always has a higher number than every earlier one of
    # ours and than every ballot we have seen.
    st.ballot_num = max(st.ballot_num, st.max_seen.num) + 1
    st.ballot_changed = True
    st.role = "candidate"
    st.promises = {}
    st.proposed = set()
    st.queue = deque()
    st.recovery = deque()
    st.idle = 0
    st.recover_from = st.committed_upto
    out.to_acceptors.append(Prepare(st.ballot, st.recover_from))
    log.info("proposer %d campaigns with %r (recovering from slot %d)", st.me, st.ballot, st.recover_from)


def _recover(promises: dict[MemberId[Any], tuple[tuple[int, Ballot, T | None], ...]]) -> dict[int, tuple[Ballot, T | None]]:
    """For every slot any promise mentions: the value accepted with the highest ballot."""
    merged: dict[int, tuple[Ballot, T | None]] = {}
    for log in promises.values():
        for slot, ballot, value in log:
            cur = merged.get(slot)
            if cur is None or ballot > cur[0]:
                merged[slot] = (ballot, value)
    return merged


def _take_office(st: ProposerState[T], out: ProposerOutput[T]) -> None:
    st.role = "leader"
    merged = _recover(st.promises)
    st.promises = {}
    if st.compacted > st.recover_from:
        # Slots below the acceptors' compaction point are chosen: count them as committed.
        st.recover_from = st.compacted
        st.committed_above = {s for s in st.committed_above if s >= st.compacted}
        st.committed_upto = max(st.committed_upto, st.compacted)
        while st.committed_upto in st.committed_above:
            st.committed_above.remove(st.committed_upto)
            st.committed_upto += 1
    top = max(merged, default=st.recover_from - 1)
    # Re-propose every uncommitted slot from ``recover_from`` (every slot below it is committed)
    # up to the highest one reported: the value with the highest ballot, or a no-op for a hole.
    # Any value chosen earlier is among them (quorums intersect). A slot this proposer has
    # learned is committed keeps its value whatever is proposed, so it is skipped.
    recovery: deque[tuple[int, Any]] = deque()
    for slot in range(st.recover_from, top + 1):
        if _is_committed(st, slot):
            continue
        entry = merged.get(slot)
        recovery.append((slot, entry[1] if entry is not None else None))
    st.recovery = recovery  # re-proposed as the window allows, from the end of this step on
    for _, value in merged.values():
        if value is not None:
            st.pending.pop(value, None)
    st.next_slot = max(top + 1, st.committed_upto, max(st.committed_above, default=-1) + 1)
    st.proposed = set()
    recovered = len(recovery)
    st.queue = deque(st.pending)  # proposed as the window allows, at the end of this step
    out.elected.append(st.ballot)
    log.info(
        "proposer %d leads with %r: re-proposed %d slot(s) from %d, %d pending command(s) to propose",
        st.me, st.ballot, recovered, st.recover_from, len(st.queue),
    )


def _fill_window(cfg: Config, st: ProposerState[T], out: ProposerOutput[T]) -> None:
    """Propose queued commands while fewer than ``cfg.window`` are in flight.

    The bound is the leader's back-pressure: however many commands clients pipeline, one tick
    proposes at most a window's worth, so the tick (and the acceptors' and learners' ticks that
    follow) stays short, heartbeats leave on time, and a leader busy with its own load is not
    taken for dead. Phase 2 is pipelined across ticks: each learned commit frees a place, which
    the next tick fills. Commands waiting here stay pending, as before: a new leader proposes
    them if this one fails.
    """
    queue, proposed, pending = st.queue, st.proposed, st.pending
    slots: list[int] = []
    values: list[T | None] = []
    ballot, slot = st.ballot, st.next_slot
    # Recovered slots first, a window's worth per step at most (slots learned committed since
    # the leader took office are skipped: they keep their value whatever is proposed).
    recovery = st.recovery
    budget = cfg.window if cfg.window > 0 else len(recovery)
    while budget > 0 and recovery:
        rslot, value = recovery.popleft()
        if not _is_committed(st, rslot):
            slots.append(rslot)
            values.append(value)
            budget -= 1
    room = cfg.window - len(proposed) if cfg.window > 0 else len(queue)
    while room > 0 and queue:
        c = queue.popleft()
        if c in pending and c not in proposed:
            proposed.add(c)
            slots.append(slot)
            values.append(c)
            slot += 1
            room -= 1
    st.next_slot = slot
    if slots:  # the whole tick's proposals in one message (see ``Accept``)
        out.to_acceptors.append(Accept(ballot, tuple(slots), tuple(values)))


def sent_to_acceptors(st: ProposerState[T]) -> list[ToAcceptor[T]]:
    return st.out.to_acceptors


def heartbeats_of(st: ProposerState[T]) -> list[Ballot]:
    return st.out.heartbeats


def elected_of(st: ProposerState[T]) -> list[Ballot]:
    return st.out.elected


def member_of(x: tuple[Any, MemberId[Any]]) -> int:
    return x[1].raw_id


def count_ticks(acc: tuple[int, int], member: int) -> tuple[int, int]:
    return (acc[0] + 1, member)


def max_ballot(acc: Ballot, b: Ballot) -> Ballot:
    return b if b > acc else acc


def is_reply(msg: FromAcceptor[T]) -> bool:
    return not isinstance(msg, Accepted)


def reply_order(e: tuple[MemberId[Any], FromAcceptor[T]]) -> tuple[int, int, Ballot]:
    return (e[0].raw_id, 0 if isinstance(e[1], Promise) else 1, e[1].ballot)




# --- checkpoints: the local replica's checkpoints advance the committed prefix


@dataclass(frozen=True, slots=True)
class CheckpointMark:
    """In the learned feed, ``(s, CheckpointMark())``: this proposer's replica holds a checkpoint
    at slot s, so every slot below s is committed (a restarted proposer, whose learner missed
    those slots, would otherwise keep every later slot in ``committed_above`` forever)."""


_MARK = CheckpointMark()


def checkpoint_mark(slot: int) -> tuple[int, Any]:
    return (slot, _MARK)


def _checkpointed(st: ProposerState[Any], slot: int) -> None:
    if slot <= st.committed_upto:
        return
    st.committed_upto = slot
    st.committed_above = {s for s in st.committed_above if s >= slot}
    while st.committed_upto in st.committed_above:
        st.committed_above.remove(st.committed_upto)
        st.committed_upto += 1
