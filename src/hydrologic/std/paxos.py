"""Multi-Paxos with leader election, written in hydrologic (``docs/paxos.md`` explains it).

Roles and wiring (every arrow is one network edge, FIFO per sender)::

    commands ─┐                         Prepare / Accept (to every acceptor)
    timers ───┼─> proposer tick  ───────────────────────────────────────> acceptor tick
              │      ^   │  heartbeats (to every other proposer)               │
              │      │   └──────────────> proposer tick (of the others)        │
              │      └──── Promise / Nack (to the sender) ─────────────────────┤
              │                                                                │
    committed <── learner (quorum of Accepted votes) <── Accepted (to every proposer)

* **Proposers** (a cluster). Each proposer's tick batches five inputs (acceptor replies,
  heartbeats, timer events, client commands, commits its learner found) into one inbox; the
  proposer's state (ballot, role, promises gathered, next slot, pending commands, committed
  prefix) lives in a top-level ``scan`` over the inboxes, in tick order, whose step is the
  transition ``_proposer_step``. Leader election: a proposer that counts ``election_timeout``
  ticks that saw its clock (plus ``stagger`` per member index, so members do not duel) without
  a heartbeat or, as a follower, a newly learned commit, campaigns with a fresh, higher ballot
  and its committed prefix (phase 1); with ``f + 1`` promises it takes office: it re-proposes,
  for every uncommitted slot from that prefix up to the highest one any promise reported, the
  value with the highest ballot, fills holes with no-ops (``None``), then proposes its pending
  commands (phase 2). A leader sends a heartbeat on each tick that saw its clock and steps down
  as soon as it sees a higher ballot. Learned commits remove commands from the pending set, so
  a proposer's memory and a leader change's work follow the commands in flight, not the log.
* **Acceptors** (a cluster) likewise: each tick's batch of Prepare/Accept messages is one step
  of a scan that handles them in a canonical serial order (ballot order), keeping the promised
  ballot and the accepted log.
* **Learners** are on every proposer: a value is committed for a slot once ``f + 1`` acceptors
  report accepting it with the same ballot. This part is ``std.reached_quorum`` and has no nondet site:
  which entries are committed does not depend on timing, only when. What it finds is also
  batched back into the proposer's tick (that batch is a nondet site: when a proposer learns
  of a commit changes what it proposes as a new leader).

Non-determinism (the two ``NonDet`` parameters, as in Hydro's ``paxos_core``):

* ``nondet_leader``: which proposer leads, and when, depends on how timer events, heartbeats and
  acceptor replies are batched into proposer ticks. A stale view only delays or prevents an
  election; it never makes two values commit for one slot (ballots are totally ordered and a
  proposer never reuses one).
* ``nondet_commit``: which slot a command gets, whether a command is committed twice during a
  leader change (at-least-once; ``replicated_state_machine`` applies each command once), and
  which proposals acceptors accept, depend on batching at proposers and acceptors. Safety rests
  on quorum intersection, not on timing.

Commands must be hashable and not ``None`` (``None`` is the no-op that fills a hole), and each
submitted command should be distinct (e.g. carry a client id and sequence number): the protocol
identifies commands by equality.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Hashable, Literal, NamedTuple, TypeVar, Union, cast

from ..lang.cycles import ForwardRef
from ..lang.keyed_stream import KeyedStream
from ..lang.location import Cluster, MemberId, Tick, TopLevel
from ..lang.stream import Stream
from ..types.errors import UsageError
from ..types.markers import ExactlyOnce, NoOrder, TotalOrder, Unbounded
from ..types.nondet import NonDet, nondet, proof
from ..types.site import caller_site

__all__ = [
    "Accept",
    "Accepted",
    "Ballot",
    "Nack",
    "Paxos",
    "Prepare",
    "Promise",
    "ordered_log",
    "paxos",
    "replicated_state_machine",
]

log = logging.getLogger("hydrologic.std.paxos")

T = TypeVar("T", bound=Hashable)
V = TypeVar("V")
S = TypeVar("S")
Res = TypeVar("Res")
PT = TypeVar("PT")
AT = TypeVar("AT")
LT = TypeVar("LT", bound=TopLevel)


# ---- messages -------------------------------------------------------------------------------
# Slotted (small in acceptors' logs), with ``__reduce__`` so that pickling one between processes
# is a constructor call: a slotted frozen dataclass otherwise pickles through ``__getstate__``,
# which calls ``dataclasses.fields()`` per object (a third of an acceptor's time under load).


@dataclass(frozen=True, slots=True, order=True)
class Ballot:
    """A ballot: ordered by number, then by the raw id of the proposer that owns it."""

    num: int
    proposer: int

    def __repr__(self) -> str:
        return f"Ballot({self.num}, p{self.proposer})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Ballot, (self.num, self.proposer))


EARLY_LIMIT = 1 << 16  # commands a proposer remembers having learned committed before they arrived

ZERO = Ballot(0, -1)  # below every real ballot (real ones have num >= 1 and proposer >= 0)


@dataclass(frozen=True, slots=True)
class Prepare:
    """Phase 1a: a candidate asks acceptors to promise ``ballot`` and to report what they
    accepted for slots from ``from_slot`` on (the candidate already knows every slot below it
    is committed, so recovery, and the Promise, only cover the uncommitted tail of the log)."""

    ballot: Ballot
    from_slot: int = 0

    def __reduce__(self) -> tuple[Any, ...]:
        return (Prepare, (self.ballot, self.from_slot))


@dataclass(frozen=True, slots=True)
class Promise(Generic[T]):
    """Phase 1b: an acceptor promises ``ballot`` and reports every (slot, ballot, value) it
    accepted for slots from the Prepare's ``from_slot`` on."""

    ballot: Ballot
    log: tuple[tuple[int, Ballot, T | None], ...]

    def __reduce__(self) -> tuple[Any, ...]:
        return (Promise, (self.ballot, self.log))


@dataclass(frozen=True, slots=True)
class Accept(Generic[T]):
    """Phase 2a: the leader of ``ballot`` proposes ``value`` (``None``: a no-op) for ``slot``."""

    ballot: Ballot
    slot: int
    value: T | None

    def __reduce__(self) -> tuple[Any, ...]:
        return (Accept, (self.ballot, self.slot, self.value))


@dataclass(frozen=True, slots=True)
class Accepted(Generic[T]):
    """Phase 2b: an acceptor accepted ``value`` for ``slot`` in ``ballot`` (sent to every learner)."""

    ballot: Ballot
    slot: int
    value: T | None

    def __reduce__(self) -> tuple[Any, ...]:
        return (Accepted, (self.ballot, self.slot, self.value))


@dataclass(frozen=True, slots=True)
class Nack:
    """A refusal: the acceptor has promised ``ballot``, which is higher than the request's."""

    ballot: Ballot

    def __reduce__(self) -> tuple[Any, ...]:
        return (Nack, (self.ballot,))


ToAcceptor = Union[Prepare, Accept[T]]
FromAcceptor = Union[Promise[T], Accepted[T], Nack]
Reply = tuple[Union[MemberId[Any], None], FromAcceptor[T]]  # (addressee, or None: every proposer)


@dataclass(frozen=True)
class Paxos(Generic[T, PT]):
    """What ``paxos`` returns.

    ``committed``: at every proposer, each (slot, value) once when it is chosen (``value`` is
    ``None`` for a no-op that filled a hole); unordered. ``ordered_log`` puts it in slot order.
    ``elected``: at every proposer, the ballot each time this proposer takes office.
    """

    committed: Stream[tuple[int, T | None], Cluster[PT], Unbounded, NoOrder, ExactlyOnce]
    elected: Stream[Ballot, Cluster[PT], Unbounded, TotalOrder, ExactlyOnce]


# ---- the protocol as a dataflow ------------------------------------------------------------


def paxos(
    proposers: Cluster[PT],
    acceptors: Cluster[AT],
    commands: Stream[T, Cluster[PT], Unbounded, TotalOrder, ExactlyOnce],
    timer_ticks: Stream[Any, Cluster[PT], Unbounded, NoOrder, ExactlyOnce],
    *,
    f: int,
    nondet_leader: NonDet,
    nondet_commit: NonDet,
    election_timeout: int = 2,
    stagger: int = 1,
) -> Paxos[T, PT]:
    """Sequence ``commands`` with Multi-Paxos; returns the committed log at every proposer.

    ``acceptors`` should have ``2 * f + 1`` members (any quorum of ``f + 1`` intersects any
    other); ``f`` of them may fail. ``commands`` arrive at proposers (send each command to every
    proposer so that a new leader still has it; a proposer keeps a command until it learns it is
    committed or sees it in a log it recovers). ``timer_ticks`` is each proposer's time source: in a deployment
    ``proposers.source_interval(seconds, nondet(...))``, in the simulator a ``sim_input`` that the
    scenario drives, so that timeouts are explored like any other input. A proposer campaigns
    after ``election_timeout + stagger * member_index`` ticks that saw its clock move without a
    heartbeat (or, for a follower, a newly learned commit); a tick counts once however many
    timer events it took in.

    Safety (at most one value per slot, at every proposer) holds whatever the timing. A command
    is eventually committed once one proposer keeps leading (e.g. the others stop timing out).

    Non-determinism: ``nondet_leader`` (which proposer leads, and when) and ``nondet_commit``
    (which slot each command gets; a command may be committed in two slots across a leader
    change). See the module docstring.
    """
    site = caller_site()
    if not isinstance(f, int) or f < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise UsageError("HL501", f"paxos needs f >= 0, got {f!r}", site=site)
    if not isinstance(election_timeout, int) or election_timeout < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise UsageError("HL501", f"paxos needs election_timeout >= 1, got {election_timeout!r}", site=site)
    if not isinstance(stagger, int) or stagger < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise UsageError("HL501", f"paxos needs stagger >= 0, got {stagger!r}", site=site)
    cfg = _Config(f=f, election_timeout=election_timeout, stagger=stagger)
    acceptors.forbid_restart(
        "a Paxos acceptor keeps its promises and accepted values in memory only: restarted empty, "
        "it could let a second value be chosen for a slot"
    )
    proposers.forbid_restart(
        "a restarted Paxos proposer would start again from its first ballot and could propose a "
        "second value under a ballot it already used"
    )

    # The protocol is a cycle (proposers -> acceptors -> proposers, proposers -> proposers). It is
    # closed with forward references on the *senders'* side, so that every network edge is built
    # with demux and arrives keyed by sender, in each sender's order (cheap per-sender batching).
    acc_out_ref: ForwardRef[Stream[Reply[T], Cluster[AT], Unbounded, TotalOrder, ExactlyOnce]]
    acc_out: Stream[Reply[T], Cluster[AT], Unbounded, TotalOrder, ExactlyOnce]
    acc_out_ref, acc_out = cast(Any, acceptors.forward_ref(tuple, TotalOrder))
    hb_out_ref, hb_out = proposers.forward_ref(Ballot, TotalOrder)

    # acceptor -> proposers: (destination or None for every proposer, message)
    from_acceptors: KeyedStream[MemberId[AT], FromAcceptor[T], Cluster[PT], Unbounded, TotalOrder, ExactlyOnce] = (
        acc_out.cross_singleton(acceptors.cluster_members(proposers))
        .flat_map_ordered(_address_reply)
        .demux(proposers)
    )
    # leader -> every other proposer: heartbeats carrying the leader's ballot
    others = proposers.cluster_members(proposers).zip(proposers.self_id())
    heartbeats: KeyedStream[MemberId[PT], Ballot, Cluster[PT], Unbounded, TotalOrder, ExactlyOnce] = (
        hb_out.cross_singleton(others).flat_map_ordered(_to_others).demux(proposers)
    )

    # ---- proposer tick ----
    p_tick = proposers.tick()
    replies = (
        from_acceptors.filter(_is_reply)
        .batch(
            p_tick,
            nondet(
                "promises and refusals may reach a proposer's tick late; a late promise only delays "
                "taking office, a late refusal only delays stepping down (acceptors refuse the stale "
                "leader's proposals meanwhile)",
                nondet_leader,
            ),
        )
        .entries()
        .sort(key=_reply_order)
        .collect_list()
    )
    heard = heartbeats.batch(
        p_tick,
        nondet(
            "a heartbeat that arrives after a timer event may let a follower time out although the "
            "leader is alive; the resulting election is safe, it only changes who leads",
            nondet_leader,
        ),
    ).values().fold(lambda: ZERO, _max_ballot, commutative=proof("max is commutative"))
    # the member id rides on timer events: hydrologic has no self_id() inside a tick
    clock = (
        timer_ticks.cross_singleton(proposers.self_id())
        .map(_member_of)
        .batch(
            p_tick,
            nondet(
                "how many timer events a tick sees decides when a proposer times out, i.e. when an "
                "election starts and who wins it; never what is committed",
                nondet_leader,
            ),
        )
        .fold(lambda: (0, -1), _count_ticks, commutative=proof("counting events; the id is the same in all"))
    )
    new_commands = commands.batch(
        p_tick,
        nondet(
            "which commands a proposer sees in a tick decides which slots they get and whether a "
            "leader that is being replaced proposes them; a proposer keeps every command until it "
            "learns it is committed, so none is lost to a leader change",
            nondet_commit,
        ),
    ).collect_list()

    # ---- learners (no nondet: which entries reach a quorum does not depend on timing) ----
    # One tally per slot: the set of votes until one (ballot, value) has f + 1 acceptors, then
    # the chosen value (plus votes for *other* values, which a correct protocol never lets reach a
    # quorum: kept so that a broken one is seen, not masked). The set of votes received decides
    # the outcome, not their order, so the fold is commutative; a decided slot drops its votes,
    # so the learner's memory is a small entry per slot instead of every vote.
    tallies = (
        from_acceptors.entries()
        .filter_map(_vote)
        .into_keyed()
        .fold(
            _no_votes,
            functools.partial(_tally, cfg.f),
            commutative=proof(
                "a slot's tally is decided by the set of votes: f + 1 acceptors for one "
                "(ballot, value), which is unique per slot (Paxos safety)"
            ),
        )
    )
    committed: Stream[tuple[int, T | None], Cluster[PT], Unbounded, NoOrder, ExactlyOnce] = (
        tallies.entries().flat_map_unordered(_decided)
    )
    # What the learner found feeds back into the proposer, so that it forgets committed commands
    # and asks acceptors only for the uncommitted tail of the log when it campaigns.
    learned = committed.batch(
        p_tick,
        nondet(
            "a proposer may learn of a commit a few ticks late; until then it only keeps the "
            "command (and may propose it again as a new leader: a repeat that is applied once)",
            nondet_commit,
        ),
    ).sort(key=_slot_of).collect_list()

    # One inbox per tick; the proposer's state machine is a top-level scan over the inboxes in tick
    # order: its state persists, and each tick is one atomic step of it.
    inboxes = (
        replies.zip(heard).zip(clock).zip(new_commands).zip(learned).map(_ProposerInbox[T].of).into_stream().all_ticks()
    )
    p_steps = inboxes.scan(_ProposerState[T].start, functools.partial(_proposer_step, cfg))
    to_acceptors: Stream[ToAcceptor[T], Cluster[PT], Unbounded, TotalOrder, ExactlyOnce] = p_steps.flat_map_ordered(
        _to_acceptors
    )
    hb_out_ref.complete(p_steps.flat_map_ordered(_heartbeats))
    elected = p_steps.flat_map_ordered(_elected)

    # ---- acceptor tick ----
    requests: KeyedStream[MemberId[PT], ToAcceptor[T], Cluster[AT], Unbounded, TotalOrder, ExactlyOnce] = (
        to_acceptors.cross_singleton(proposers.cluster_members(acceptors))
        .flat_map_ordered(functools.partial(_to_all_acceptors, cfg))
        .demux(acceptors)
    )
    a_tick = acceptors.tick()
    a_batch = (
        requests.batch(
            a_tick,
            nondet(
                "an acceptor handles whatever requests have arrived, in ballot order; which ballot's "
                "proposals it accepts depends on that, but every acceptor keeps its promises, so two "
                "quorums always share an acceptor that reports what it accepted",
                nondet_commit,
            ),
        )
        .entries()
        .sort(key=_request_order)
        .collect_list()
    )
    a_steps = a_batch.into_stream().all_ticks().scan(_AcceptorState[T].start, _acceptor_step)
    acc_out_ref.complete(a_steps.flat_map_ordered(_second_items))
    return Paxos(committed=committed, elected=elected)


# ---- proposer state machine -----------------------------------------------------------------


@dataclass(frozen=True)
class _Config:
    f: int
    election_timeout: int
    stagger: int


Role = Literal["follower", "candidate", "leader"]


@dataclass(eq=False)
class _ProposerState(Generic[T]):
    """One proposer's state. It lives in that member's scan, which updates it in place; only the
    immutable messages of each step leave the scan, so nothing else ever sees it change."""

    me: int = -1  # raw member id, learned from the first timer event
    ballot_num: int = 0
    max_seen: Ballot = ZERO
    role: Role = "follower"
    idle: int = 0  # timer events since a heartbeat or since campaigning
    promises: dict[int, tuple[tuple[int, Ballot, T | None], ...]] = field(default_factory=lambda: {})
    next_slot: int = 0
    pending: dict[T, None] = field(default_factory=lambda: {})  # insertion-ordered set, not yet committed
    proposed: set[T] = field(default_factory=lambda: set())  # proposed in the current term, not yet committed
    recover_from: int = 0  # the ``from_slot`` of this proposer's latest Prepare
    # What the learner has reported so far: the committed prefix, and committed slots past it.
    committed_upto: int = 0  # every slot below this one is committed
    committed_above: set[int] = field(default_factory=lambda: set())  # committed slots >= committed_upto
    # Commands learned committed before they arrived here (the learner can be ahead of the
    # command's own channel); remembered, up to EARLY_LIMIT of them, so that the command is not
    # kept pending when it does arrive (a new leader would propose it again).
    early: dict[T, None] = field(default_factory=lambda: {})

    @staticmethod
    def start() -> tuple[_ProposerState[T], _ProposerOutput[T]]:
        return _ProposerState(), _ProposerOutput()

    @property
    def ballot(self) -> Ballot:
        return Ballot(self.ballot_num, self.me)

    def __repr__(self) -> str:
        return (
            f"Proposer(p{self.me} {self.role} {self.ballot!r} max_seen={self.max_seen!r} idle={self.idle} "
            f"next_slot={self.next_slot} pending={len(self.pending)} committed_upto={self.committed_upto})"
        )


@dataclass
class _ProposerOutput(Generic[T]):
    """What one proposer step sends (a fresh object per step)."""

    to_acceptors: list[ToAcceptor[T]] = field(default_factory=lambda: [])
    heartbeats: list[Ballot] = field(default_factory=lambda: [])
    elected: list[Ballot] = field(default_factory=lambda: [])


@dataclass(frozen=True)
class _ProposerInbox(Generic[T]):
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
    ) -> _ProposerInbox[T]:
        (((replies, heard), (timer_events, member)), commands), learned = x
        return _ProposerInbox(replies, heard, timer_events, member, commands, learned)


def _proposer_step(
    cfg: _Config, acc: tuple[_ProposerState[T], _ProposerOutput[T]], inbox: _ProposerInbox[T]
) -> tuple[_ProposerState[T], _ProposerOutput[T]]:
    """One proposer tick. The result does not depend on the order of messages within the tick."""
    st = acc[0]
    out: _ProposerOutput[T] = _ProposerOutput()
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
                st.promises[acceptor.raw_id] = msg.log
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
            _propose(st, out, c)

    # 5. A leader's heartbeat, once per tick that saw its clock move.
    if st.role == "leader" and timer_events:
        out.heartbeats.append(st.ballot)
    return st, out


def _learned(st: _ProposerState[T], slot: int, value: T | None) -> None:
    if _is_committed(st, slot):
        return
    st.committed_above.add(slot)
    while st.committed_upto in st.committed_above:
        st.committed_above.remove(st.committed_upto)
        st.committed_upto += 1
    if value is None:
        return
    st.proposed.discard(value)
    if value in st.pending:
        del st.pending[value]
    else:
        st.early[value] = None
        if len(st.early) > EARLY_LIMIT:
            del st.early[next(iter(st.early))]  # the oldest: a command this late is only repeated


def _is_committed(st: _ProposerState[Any], slot: int) -> bool:
    return slot < st.committed_upto or slot in st.committed_above


def _step_down(st: _ProposerState[T]) -> None:
    st.role = "follower"
    st.promises = {}
    st.proposed = set()
    st.idle = 0


def _campaign(st: _ProposerState[T], out: _ProposerOutput[T]) -> None:
    # A ballot is never reused: a new term always has a higher number than every earlier one of
    # ours and than every ballot we have seen.
    st.ballot_num = max(st.ballot_num, st.max_seen.num) + 1
    st.role = "candidate"
    st.promises = {}
    st.proposed = set()
    st.idle = 0
    st.recover_from = st.committed_upto
    out.to_acceptors.append(Prepare(st.ballot, st.recover_from))
    log.info("proposer %d campaigns with %r (recovering from slot %d)", st.me, st.ballot, st.recover_from)


def _recover(promises: dict[int, tuple[tuple[int, Ballot, T | None], ...]]) -> dict[int, tuple[Ballot, T | None]]:
    """For every slot any promise mentions: the value accepted with the highest ballot."""
    merged: dict[int, tuple[Ballot, T | None]] = {}
    for log in promises.values():
        for slot, ballot, value in log:
            cur = merged.get(slot)
            if cur is None or ballot > cur[0]:
                merged[slot] = (ballot, value)
    return merged


def _take_office(st: _ProposerState[T], out: _ProposerOutput[T]) -> None:
    st.role = "leader"
    merged = _recover(st.promises)
    st.promises = {}
    top = max(merged, default=st.recover_from - 1)
    # Re-propose every uncommitted slot from ``recover_from`` (every slot below it is committed)
    # up to the highest one reported: the value with the highest ballot, or a no-op for a hole.
    # Any value chosen earlier is among them (quorums intersect). A slot this proposer has
    # learned is committed keeps its value whatever is proposed, so it is skipped.
    for slot in range(st.recover_from, top + 1):
        if _is_committed(st, slot):
            continue
        entry = merged.get(slot)
        out.to_acceptors.append(Accept(st.ballot, slot, entry[1] if entry is not None else None))
    for _, value in merged.values():
        if value is not None:
            st.pending.pop(value, None)
    st.next_slot = max(top + 1, st.committed_upto, max(st.committed_above, default=-1) + 1)
    st.proposed = set()
    recovered = len(out.to_acceptors)
    for c in list(st.pending):
        _propose(st, out, c)
    out.elected.append(st.ballot)
    log.info(
        "proposer %d leads with %r: re-proposed %d slot(s) from %d, proposed %d pending command(s)",
        st.me, st.ballot, recovered, st.recover_from, len(out.to_acceptors) - recovered,
    )


def _propose(st: _ProposerState[T], out: _ProposerOutput[T], command: T) -> None:
    if command in st.proposed:
        return
    st.proposed.add(command)
    out.to_acceptors.append(Accept(st.ballot, st.next_slot, command))
    st.next_slot += 1


# ---- acceptor state machine -----------------------------------------------------------------


@dataclass(eq=False)
class _AcceptorState(Generic[T]):
    """One acceptor's promised ballot and accepted log, owned (and updated in place) by its scan."""

    promised: Ballot = ZERO
    log: dict[int, tuple[Ballot, T | None]] = field(default_factory=lambda: {})

    @staticmethod
    def start() -> tuple[_AcceptorState[T], list[Reply[T]]]:
        return _AcceptorState(), []

    def __repr__(self) -> str:
        return f"Acceptor(promised={self.promised!r}, log={len(self.log)} slot(s))"


def _acceptor_step(
    acc: tuple[_AcceptorState[T], list[Reply[T]]], requests: list[tuple[MemberId[Any], ToAcceptor[T]]]
) -> tuple[_AcceptorState[T], list[Reply[T]]]:
    """Handle a tick's requests one by one in ballot order (a valid serial order of arrival)."""
    st = acc[0]
    out: list[Reply[T]] = []
    for sender, msg in requests:
        if isinstance(msg, Prepare):
            if msg.ballot >= st.promised:
                st.promised = msg.ballot
                log = tuple(sorted((slot, b, v) for slot, (b, v) in st.log.items() if slot >= msg.from_slot))
                out.append((sender, Promise(msg.ballot, log)))
            else:
                out.append((sender, Nack(st.promised)))
        elif msg.ballot >= st.promised:
            # Accepting also promises: this acceptor will never answer a lower Prepare again, so
            # every Promise reports only entries with lower ballots than the one it promises.
            if msg.ballot != st.promised:
                st.promised = msg.ballot
            ballot = st.promised  # one Ballot object per ballot in the log, not one per message
            cur = st.log.get(msg.slot)
            if cur is None or ballot >= cur[0]:
                st.log[msg.slot] = (ballot, msg.value)
            out.append((None, Accepted(msg.ballot, msg.slot, msg.value)))
        else:
            out.append((sender, Nack(st.promised)))
    return st, out


# ---- small pure helpers (module level, so traces name them) ------------------------------------


def _second_items(x: tuple[Any, list[Any]]) -> list[Any]:
    return x[1]


def _to_acceptors(x: tuple[Any, _ProposerOutput[T]]) -> list[ToAcceptor[T]]:
    return x[1].to_acceptors


def _heartbeats(x: tuple[Any, _ProposerOutput[T]]) -> list[Ballot]:
    return x[1].heartbeats


def _elected(x: tuple[Any, _ProposerOutput[T]]) -> list[Ballot]:
    return x[1].elected


def _commit_quorum(f: int) -> int:
    """How many acceptors must accept a (slot, ballot) before learners commit it."""
    return f + 1


def _member_of(x: tuple[Any, MemberId[Any]]) -> int:
    return x[1].raw_id


def _count_ticks(acc: tuple[int, int], member: int) -> tuple[int, int]:
    return (acc[0] + 1, member)


def _max_ballot(acc: Ballot, b: Ballot) -> Ballot:
    return b if b > acc else acc


def _is_reply(msg: FromAcceptor[T]) -> bool:
    return not isinstance(msg, Accepted)


def _reply_order(e: tuple[MemberId[Any], FromAcceptor[T]]) -> tuple[int, int, Ballot]:
    return (e[0].raw_id, 0 if isinstance(e[1], Promise) else 1, e[1].ballot)


def _request_order(e: tuple[MemberId[Any], ToAcceptor[T]]) -> tuple[Ballot, int, int]:
    m = e[1]
    if isinstance(m, Prepare):
        return (m.ballot, 0, -1)
    return (m.ballot, 1, m.slot)


def _to_all_acceptors(cfg: _Config, x: tuple[V, tuple[MemberId[AT], ...]]) -> list[tuple[MemberId[AT], V]]:
    value, members = x
    if len(members) > 2 * cfg.f + 1:
        # Cluster sizes are chosen when the program runs, so this is checked here, not at build.
        raise UsageError(
            "HL501",
            f"paxos(f={cfg.f}) allows at most {2 * cfg.f + 1} acceptors, but the cluster has {len(members)}: "
            f"two quorums of {cfg.f + 1} might not share an acceptor",
            fix=f"Run {2 * cfg.f + 1} acceptors, or build with f={(len(members) - 1) // 2 + (len(members) - 1) % 2}.",
        )
    return [(m, value) for m in members]


def _to_others(x: tuple[V, tuple[tuple[MemberId[PT], ...], MemberId[PT]]]) -> list[tuple[MemberId[PT], V]]:
    value, (members, me) = x
    return [(m, value) for m in members if m != me]


Vote = tuple[Ballot, Any, int]  # (ballot, value, acceptor's raw id)


class _Decided(NamedTuple):
    """A slot's tally once a value has ``f + 1`` votes with one ballot.

    ``chosen``: the values that reached a quorum, in the order this learner saw it happen (more
    than one only if the protocol is broken; each is emitted, so the break shows downstream
    instead of being masked). ``others``: votes for values not chosen (late votes of lower
    ballots; usually none), kept to see such a break.

    A tuple, so that top-level ``entries`` re-emits the slot only when it compares unequal; and
    equal when the same values were chosen, so that neither a late vote for another value nor
    the order in which values were chosen counts as a change (the simulator checks the fold's
    commutativity claim with the same ``==``).
    """

    chosen: tuple[Any, ...]
    others: frozenset[Vote]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Decided) and frozenset(self.chosen) == frozenset(other.chosen)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(frozenset(self.chosen))


Tally = Union[frozenset[Vote], _Decided]  # the votes so far, or the decision


def _vote(e: tuple[MemberId[Any], FromAcceptor[T]]) -> tuple[int, Vote] | None:
    acceptor, msg = e
    if isinstance(msg, Accepted):
        return (msg.slot, (msg.ballot, msg.value, acceptor.raw_id))
    return None


def _no_votes() -> Tally:
    return _NO_VOTES


def _tally(f: int, tally: Tally, vote: Vote) -> Tally:
    ballot, value, _ = vote
    if isinstance(tally, _Decided):
        if value in tally.chosen:
            return tally  # a late vote for the chosen value: nothing changes
        others = tally.others | {vote}
        if sum(1 for b, v, _a in others if b == ballot and v == value) >= _commit_quorum(f):
            return _Decided(tally.chosen + (value,), _without(others, value))
        return _Decided(tally.chosen, others)
    votes = tally | {vote}
    if sum(1 for b, v, _a in votes if b == ballot and v == value) >= _commit_quorum(f):
        return _Decided((value,), _without(votes, value))
    return votes


_NO_VOTES: frozenset[Vote] = frozenset()


def _without(votes: frozenset[Vote], value: Any) -> frozenset[Vote]:
    rest = frozenset(o for o in votes if o[1] != value)
    return rest if rest else _NO_VOTES  # one shared empty set: a decided slot costs only its tuple


def _decided(entry: tuple[int, Tally]) -> list[tuple[int, Any]]:
    """The value a slot's tally just chose: re-emitted tallies are ones whose chosen set grew."""
    slot, tally = entry
    return [(slot, tally.chosen[-1])] if isinstance(tally, _Decided) else []


def _address_reply(x: tuple[tuple[Any, FromAcceptor[T]], tuple[MemberId[PT], ...]]) -> list[tuple[MemberId[PT], FromAcceptor[T]]]:
    (dest, msg), members = x
    if dest is None:
        return [(m, msg) for m in members]
    return [(dest, msg)]


# ---- the replicated log and state machine ---------------------------------------------------


@dataclass(eq=False)
class _Sequencer(Generic[V]):
    next_slot: int = 0
    held: dict[int, V] = field(default_factory=lambda: {})

    @staticmethod
    def start() -> tuple[_Sequencer[V], list[tuple[int, V]]]:
        return _Sequencer(), []


def _sequence_step(
    acc: tuple[_Sequencer[V], list[tuple[int, V]]], batch: list[tuple[int, V]]
) -> tuple[_Sequencer[V], list[tuple[int, V]]]:
    st = acc[0]
    for slot, value in batch:
        if slot >= st.next_slot and slot not in st.held:
            st.held[slot] = value
    out: list[tuple[int, V]] = []
    while st.next_slot in st.held:
        out.append((st.next_slot, st.held.pop(st.next_slot)))
        st.next_slot += 1
    return st, out


def ordered_log(
    committed: Stream[tuple[int, V], LT, Unbounded, NoOrder, ExactlyOnce], tick: Tick[LT]
) -> Stream[tuple[int, V], LT, Unbounded, TotalOrder, ExactlyOnce]:
    """The committed entries in slot order, each once, without gaps: an entry is held back until
    every lower slot has been released (so the output is the same on every run).

    ``tick`` is a tick of the entries' location, used only by this function. If a slot came
    twice with different values (a safety violation upstream), the first one seen is kept.
    """
    batches = (
        committed.batch(
            tick,
            nondet(
                "entries are held back until every lower slot is known, so batching changes when an "
                "entry is released, never the released sequence"
            ),
        )
        .sort(key=_slot_of)
        .collect_list()
        .into_stream()
        .all_ticks()
    )
    return batches.scan(_Sequencer[V].start, _sequence_step).flat_map_ordered(_second_items)


def _slot_of(e: tuple[int, Any]) -> int:
    return e[0]


def replicated_state_machine(
    log: Stream[tuple[int, T | None], LT, Unbounded, TotalOrder, ExactlyOnce],
    init: Callable[[], S],
    apply: Callable[[S, T], tuple[S, Res]],
    *,
    dedupe: bool = True,
) -> Stream[tuple[int, T, Res], LT, Unbounded, TotalOrder, ExactlyOnce]:
    """Apply each command of an ordered log (``ordered_log``) with ``apply(state, command) ->
    (state, result)``; emits (slot, command, result). No-ops (``None``) are skipped; with
    ``dedupe`` (the default) a command committed in two slots (possible across a leader change)
    is applied only the first time. ``apply`` must be deterministic: every replica applies the
    same commands in the same order, so they compute the same states and results.
    """

    def start() -> tuple[S, set[T], tuple[int, T, Res] | None]:
        return (init(), set(), None)

    def step(
        acc: tuple[S, set[T], tuple[int, T, Res] | None], entry: tuple[int, T | None]
    ) -> tuple[S, set[T], tuple[int, T, Res] | None]:
        state, seen, _ = acc
        slot, command = entry
        if command is None or (dedupe and command in seen):
            return (state, seen, None)
        if dedupe:
            seen.add(command)  # the set is private to this scan (made by ``start``)
        state, result = apply(state, command)
        return (state, seen, (slot, command, result))

    return log.scan(start, step).filter_map(_applied)


def _applied(acc: tuple[Any, Any, tuple[int, Any, Any] | None]) -> tuple[int, Any, Any] | None:
    return acc[2]


