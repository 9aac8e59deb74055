"""Two-phase commit: a coordinator process and a participant cluster.

Phase 1: the coordinator broadcasts each transaction (PREPARE); every participant votes.
Phase 2: the coordinator decides COMMIT iff every participant voted yes, broadcasts the
decision; participants apply it and acknowledge; once every participant has acknowledged, the
coordinator reports the outcome.

The coordinator's side needs no nondet site of its own: "every member has voted on t" and "every
member has acknowledged t" are monotone facts (once true they stay true), so each transaction's
decision and outcome are the same set of facts on every run, released exactly once. The only
nondet sites are the broadcasts (cluster membership, forwarded from the caller's token) and
whatever the participant logic uses.

With ``durable="name"`` the protocol survives crashes of the coordinator and of participants
(``docs/two_phase_commit.md``): each participant logs its vote before sending it and every
decision it learns; the coordinator logs each decision before any participant can learn it
(every decision message is read back from that log); a participant that voted yes and has not
learned the decision asks the coordinator every ``retry_every`` seconds; the answer comes from the
log, and a transaction the coordinator lost in a crash before deciding it is aborted (presumed
abort).

The participant's logic is yours: a function over live collections on one member, from the
PREPAREs and decisions it receives to its votes and acknowledgements (``stateless_votes`` builds
the simplest one from a vote function; a participant that takes locks needs state in a tick).
"""

from __future__ import annotations

from typing import Any, Callable, Generic, NamedTuple, TypeVar

from ..lang.keyed_stream import KeyedStream
from ..lang.location import Cluster, Location, MemberId, Process
from ..lang.singleton import Singleton
from ..lang.stream import Stream
from ..types.markers import AtLeastOnce, Bounded, ExactlyOnce, NoOrder, TotalOrder, Unbounded
from ..types.errors import UsageError
from ..types.nondet import NonDet, nondet, proof
from ..types.site import caller_site

__all__ = [
    "all_responded",
    "unanimous",
    "two_phase_commit",
    "stateless_votes",
    "TwoPhaseCommit",
    "Participant",
    "DurableLogs",
]

K = TypeVar("K")
Id = TypeVar("Id")
T = TypeVar("T")
C = TypeVar("C")
P = TypeVar("P")
L = TypeVar("L", bound=Location)


def _responders(
    responses: KeyedStream[K, tuple[MemberId[C], Any], L, Unbounded, NoOrder, AtLeastOnce],
) -> Stream[tuple[K, frozenset[tuple[MemberId[C], Any]]], L, Unbounded, NoOrder, ExactlyOnce]:
    """Per key, the set of (member, response) seen so far, re-emitted whenever it grows."""
    return responses.fold(
        frozenset[tuple[MemberId[C], Any]],
        lambda seen, response: seen | {response},
        commutative=proof("set union does not depend on the order responses arrive in"),
        idempotent=proof("adding a response already in the set leaves the set unchanged"),
    ).entries()


def _complete(
    per_key: Stream[tuple[K, frozenset[tuple[MemberId[C], Any]]], L, Unbounded, NoOrder, ExactlyOnce],
    members: Singleton[tuple[MemberId[C], ...], L, Bounded],
) -> Stream[tuple[K, frozenset[tuple[MemberId[C], Any]]], L, Unbounded, NoOrder, ExactlyOnce]:
    def every_member(entry: tuple[tuple[K, frozenset[tuple[MemberId[C], Any]]], tuple[MemberId[C], ...]]) -> bool:
        (_, seen), ms = entry
        return {m for m, _ in seen} >= set(ms)

    return per_key.cross_singleton(members).filter(every_member).map(lambda entry: entry[0])


def all_responded(
    responses: KeyedStream[K, MemberId[C], L, Unbounded, NoOrder, AtLeastOnce],
    members: Singleton[tuple[MemberId[C], ...], L, Bounded],
) -> Stream[K, L, Unbounded, NoOrder, ExactlyOnce]:
    """Each key, once, as soon as every member in ``members`` has responded for it.

    ``responses`` maps a key to the member that responded (e.g. acknowledgements sent back from
    a cluster, re-keyed by what they acknowledge). ``members`` is ``loc.cluster_members(cluster)``,
    so the threshold is the cluster's size at deployment (not known while building, which is why
    this is not ``std.reached_quorum`` with a fixed count). Duplicated responses are harmless: members
    are counted as a set.
    """
    with_value = responses.map(lambda m: (m, None))
    return _complete(_responders(with_value), members).map(lambda entry: entry[0]).unique()


def unanimous(
    votes: KeyedStream[K, tuple[MemberId[C], bool], L, Unbounded, NoOrder, AtLeastOnce],
    voters: Singleton[tuple[MemberId[C], ...], L, Bounded],
) -> Stream[tuple[K, bool], L, Unbounded, NoOrder, ExactlyOnce]:
    """Each key's decision, once every voter has voted on it: True iff all of them voted yes.

    ``votes`` maps a key to ``(voter, yes?)``. The decision is released exactly once per key and
    is the same on every run (each voter votes once per key; if one voted both ways, the key
    counts as a no).
    """

    def decide(entry: tuple[K, frozenset[tuple[MemberId[C], Any]]]) -> tuple[K, bool]:
        key, seen = entry
        return (key, all(yes for _, yes in seen))

    return _complete(_responders(votes), voters).map(decide).unique()


class TwoPhaseCommit(NamedTuple, Generic[Id, C, P]):
    """What ``two_phase_commit`` returns. ``True`` means COMMIT, ``False`` ABORT."""

    decisions: Stream[tuple[Id, bool], Process[C], Unbounded, NoOrder, ExactlyOnce]
    """At the coordinator: each transaction's decision, once, as soon as every vote is in."""
    outcomes: Stream[tuple[Id, bool], Process[C], Unbounded, NoOrder, ExactlyOnce]
    """At the coordinator: each decision again, once every participant has acknowledged applying it."""
    delivered: Stream[tuple[Id, bool], Cluster[P], Unbounded, NoOrder, ExactlyOnce]
    """On each participant: the decisions as they arrive (what the participant logic received)."""


Participant = Callable[
    [
        Cluster[P],
        Stream[tuple[Id, T], Cluster[P], Unbounded, TotalOrder, ExactlyOnce],
        Stream[tuple[Id, bool], Cluster[P], Unbounded, NoOrder, ExactlyOnce],
    ],
    tuple[
        Stream[tuple[Id, bool], Cluster[P], Unbounded, NoOrder, ExactlyOnce],
        Stream[Id, Cluster[P], Unbounded, NoOrder, ExactlyOnce],
    ],
]
"""A participant's logic on one member: ``(participants, prepares, decisions) -> (votes, acks)``.

``prepares`` are ``(txid, transaction)`` in the coordinator's order; ``decisions`` are
``(txid, commit?)``. It must vote ``(txid, yes?)`` exactly once per PREPARE, and acknowledge
``txid`` exactly once per decision, after applying it.
"""


def stateless_votes(vote: Callable[[MemberId[P], Id, T], bool]) -> Participant[P, Id, T]:
    """The simplest participant: ``vote(member, txid, transaction)`` decides each vote; a
    decision is acknowledged as soon as it arrives (nothing to apply)."""

    def participant(
        participants: Cluster[P],
        prepares: Stream[tuple[Id, T], Cluster[P], Unbounded, TotalOrder, ExactlyOnce],
        decisions: Stream[tuple[Id, bool], Cluster[P], Unbounded, NoOrder, ExactlyOnce],
    ) -> tuple[
        Stream[tuple[Id, bool], Cluster[P], Unbounded, NoOrder, ExactlyOnce],
        Stream[Id, Cluster[P], Unbounded, NoOrder, ExactlyOnce],
    ]:
        def cast(entry: tuple[tuple[Id, T], MemberId[P]]) -> tuple[Id, bool]:
            (txid, txn), me = entry
            return (txid, vote(me, txid, txn))

        votes = prepares.cross_singleton(participants.self_id()).map(cast)
        return votes.weaken_ordering(), decisions.map(lambda d: d[0])

    return participant


def two_phase_commit(
    coordinator: Process[C],
    participants: Cluster[P],
    transactions: Stream[tuple[Id, T], Process[C], Unbounded, TotalOrder, ExactlyOnce],
    participant: Participant[P, Id, T],
    membership: NonDet,
    *,
    durable: str | None = None,
    retry_every: float = 1.0,
    abort_after: int | None = 10,
) -> TwoPhaseCommit[Id, C, P]:
    """Run two-phase commit for each ``(txid, transaction)`` arriving at ``coordinator``.

    ``membership`` is the caller's reason that broadcasting to the cluster reaches every
    participant (static membership); it is forwarded to both broadcasts. Transaction ids must
    be unique. The coordinator waits for every vote before deciding (no early abort), so no
    participant sees a decision for a transaction it has not voted on.

    ``durable="name"`` logs votes and decisions in durable state (``name.decisions`` at the
    coordinator, ``name.votes`` and ``name.decided`` at each participant), so any of them may crash
    and be restarted on its data directory: see ``DurableLogs`` for the protocol and
    ``docs/two_phase_commit.md`` for recovery and the blocking case. Transaction ids must then be
    unique over the coordinator's whole life, across restarts (number them with a durable
    ``scan``, not ``enumerate()``). A participant that voted yes and has not learned the decision
    asks the coordinator every ``retry_every`` seconds. The coordinator answers from its log; if
    it has no decision and does not know the transaction (it lost it in a crash) it aborts it
    (presumed abort); if it is still collecting its votes, it waits, and aborts it after
    ``abort_after`` asks (a vote that never comes; ``None``: wait forever). ``retry_every`` and
    ``abort_after`` apply only with ``durable``. Without ``durable`` both locations forbid
    restarts: their state is in memory only.

    With ``durable``, the participant logic may be handed a decision (an ABORT) for a
    transaction it has not voted on yet, and after a restart of its member, decisions it already
    received may be handed to it again: apply decisions idempotently, and ignore a PREPARE whose
    decision has already arrived.
    """
    if durable is not None:
        site = caller_site()
        if not isinstance(durable, str) or not durable:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", f"two_phase_commit needs durable= as a non-empty name, got {durable!r}", site=site)
        if isinstance(retry_every, bool) or not isinstance(retry_every, (int, float)) or retry_every <= 0:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError(
                "HL501", f"two_phase_commit needs retry_every > 0 (seconds), got {retry_every!r}", site=site
            )
        if abort_after is not None and (isinstance(abort_after, bool) or not isinstance(abort_after, int) or abort_after < 1):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError(
                "HL501", f"two_phase_commit needs abort_after >= 1 (asks) or None (wait forever), got {abort_after!r}", site=site
            )
        return logged_two_phase_commit(
            coordinator,
            participants,
            transactions,
            participant,
            membership,
            DurableLogs.named(durable),
            retry_every=retry_every,
            abort_after=abort_after,
        )
    coordinator.forbid_restart(
        "a 2PC coordinator keeps votes and decisions in memory only: restarted empty, it could "
        "decide a transaction a second time, differently"
    )
    participants.forbid_restart(
        "a 2PC participant keeps its votes in memory only: restarted empty, it could vote again, "
        "differently, or forget a decision it was told"
    )
    members = coordinator.cluster_members(participants)
    prepares = transactions.broadcast(
        participants, nondet("2PC: every participant must receive every PREPARE", membership)
    )
    decisions_ref, decisions_here = coordinator.forward_ref(tuple[Any, bool], NoOrder)
    delivered: Stream[tuple[Id, bool], Cluster[P], Unbounded, NoOrder, ExactlyOnce] = decisions_here.broadcast(
        participants, nondet("2PC: every participant must receive every decision", membership)
    )
    votes, acks = participant(participants, prepares, delivered)

    by_txn = votes.send(coordinator).entries().map(lambda e: (e[1][0], (e[0], e[1][1]))).into_keyed()
    decisions = unanimous(by_txn, members)
    decisions_ref.complete(decisions)

    acked = all_responded(acks.send(coordinator).entries().map(lambda e: (e[1], e[0])).into_keyed(), members)
    outcomes = decisions.join(acked.map(lambda txid: (txid, None))).map(lambda e: (e[0], e[1][0]))
    return TwoPhaseCommit(decisions, outcomes, delivered)


class DurableLogs(NamedTuple):
    """The names of the durable state of two-phase commit with ``durable=``; ``None`` keeps that
    log in memory only (a deliberately broken protocol, for tests that show what the log is for).

    * ``decisions`` (coordinator): per transaction, the decision, written before any participant
      can learn it. Every decision message is read back from this log, and a transaction's first
      logged decision is its only one, so a restarted coordinator answers as before the crash.
    * ``votes`` (each participant): per transaction, the vote, written before it is sent; a
      participant that voted yes stays prepared across a crash and never votes differently.
    * ``decided`` (each participant): per transaction, the decision as first learned; it is
      handed to the participant logic when it is first learned (and again, possibly, after a
      restart of that member, when the decision is sent again).
    """

    decisions: str | None
    votes: str | None
    decided: str | None

    @staticmethod
    def named(name: str) -> DurableLogs:
        return DurableLogs(f"{name}.decisions", f"{name}.votes", f"{name}.decided")


def _unwritten() -> bool | None:
    return None


def _first_wins(acc: bool | None, value: bool) -> bool | None:
    """A log entry keeps its first value: a vote or a decision, once written, never changes."""
    return value if acc is None else acc


def _written(entry: tuple[Id, bool | None]) -> tuple[Id, bool]:
    key, value = entry
    assert value is not None  # a log entry exists only once something was written to it
    return (key, value)


def _decide(acc: tuple[bool, int] | None, proposal: bool | None) -> tuple[bool, int] | None:
    """The coordinator's log entry: the first decision proposed is the decision. ``None`` is an
    ask: it writes nothing for an undecided transaction, and for a decided one it only counts up,
    so the entry changes and its decision is sent again (to whoever asked)."""
    if acc is None:
        return None if proposal is None else (proposal, 0)
    return (acc[0], acc[1] + 1)


def _proposal(decision: tuple[Id, bool]) -> tuple[Id, bool | None]:
    return decision


def _abort(txid: Id) -> tuple[Id, bool | None]:
    return (txid, False)


def _ask(txid: Id) -> tuple[Id, bool | None]:
    return (txid, None)


def _decision_of(entry: tuple[Id, tuple[bool, int] | None]) -> tuple[Id, bool]:
    txid, value = entry
    assert value is not None  # a log entry exists only once something was proposed
    return (txid, value[0])


def logged_two_phase_commit(
    coordinator: Process[C],
    participants: Cluster[P],
    transactions: Stream[tuple[Id, T], Process[C], Unbounded, TotalOrder, ExactlyOnce],
    participant: Participant[P, Id, T],
    membership: NonDet,
    logs: DurableLogs,
    *,
    retry_every: float = 1.0,
    abort_after: int | None = 10,
) -> TwoPhaseCommit[Id, C, P]:
    """Two-phase commit with its votes and decisions logged (``two_phase_commit(durable=...)``).

    Presumed abort: a decision is proposed either by the votes (COMMIT iff all yes, as without
    logs) or by a participant's ask about a transaction the coordinator does not know in its
    current incarnation (ABORT: the votes it collected were lost in a crash); whichever reaches
    the coordinator's log first is the decision. An ask about a logged transaction is answered
    from the log; one about a transaction whose votes are still being collected waits for them
    (up to ``abort_after`` asks). Aborting a transaction the log does not know is safe because
    no participant can have learned anything else: decision messages are computed from the log,
    and a message leaves a process only once the log write it depends on is durable.

    ``decisions`` and ``outcomes`` are per incarnation of the coordinator: after a restart, a
    decision logged before it appears again when a participant asks about it.
    """
    members = coordinator.cluster_members(participants)
    prepares = transactions.broadcast(
        participants, nondet("2PC: every participant must receive every PREPARE", membership)
    )
    logged_ref, logged_here = coordinator.forward_ref(tuple[Any, bool], NoOrder)
    received = logged_here.broadcast(
        participants, nondet("2PC: every participant must receive every logged decision", membership)
    )
    decided = received.into_keyed().fold(
        _unwritten,
        _first_wins,
        commutative=proof("every decision message for a transaction carries its one logged decision"),
        idempotent=proof("learning a decision again leaves the first one"),
        durable=logs.decided,
    )
    delivered: Stream[tuple[Id, bool], Cluster[P], Unbounded, NoOrder, ExactlyOnce] = decided.entries().map(_written)
    votes, acks = participant(participants, prepares, delivered)
    voted = votes.into_keyed().fold(
        _unwritten,
        _first_wins,
        commutative=proof("a participant votes once per PREPARE, and each PREPARE arrives once"),
        durable=logs.votes,
    )

    tick = participants.tick()
    timer = participants.source_interval(
        retry_every, nondet("2PC: a participant in doubt asks again after a period; when is up to the clock")
    ).batch(tick, nondet("2PC: an ask goes out in whichever tick sees the timer fire")).first()
    prepared = voted.snapshot(
        tick, nondet("2PC: a vote logged after this snapshot is asked about at the next period")
    ).filter(lambda yes: yes is True).keys()
    learned = decided.snapshot(
        tick, nondet("2PC: asking about a decision learned after this snapshot is harmless: the answer is the same")
    ).keys()
    asks = prepared.filter_not_in(learned).cross_singleton(timer).map(lambda e: e[0]).all_ticks()

    by_txn = voted.entries().map(_written).send(coordinator).entries().map(lambda e: (e[1][0], (e[0], e[1][1]))).into_keyed()
    # Every ask touches the log: a logged decision is sent again. An ask about a transaction this
    # incarnation is still collecting votes for waits for them, up to ``abort_after`` asks (a vote
    # that never comes: its participant crashed before voting); an ask about one it does not know
    # (its votes were lost in a crash) proposes ABORT at once: presumed abort.
    asked = asks.send(coordinator).values()
    started = transactions.map(lambda t: (t[0], True)).into_keyed().fold(lambda: True, lambda known, _: known)
    ctick = coordinator.tick()
    known = started.snapshot(
        ctick, nondet("2PC: a transaction started after this snapshot is taken for lost, and its ask proposes ABORT")
    )
    asked_now = asked.batch(ctick, nondet("2PC: asks are answered in whichever tick they arrive"))
    presumed = asked_now.filter_not_in(known.keys()).map(_abort).all_ticks()
    proposals = unanimous(by_txn, members).map(_proposal).merge_unordered(presumed).merge_unordered(asked.map(_ask))
    if abort_after is not None:
        limit = abort_after
        waited = (
            asked_now.map(lambda txid: (txid, 1))
            .join(known.entries())
            .map(lambda e: (e[0], e[1][0]))
            .all_ticks()
            .into_keyed()
            .fold(lambda: 0, lambda n, one: n + one, commutative=proof("a count does not depend on the order asks arrive in"))
        )
        timed_out = waited.entries().filter(lambda e: e[1] >= limit).map(lambda e: e[0]).unique().map(_abort)
        proposals = proposals.merge_unordered(timed_out)
    log = proposals.assume_ordering(
        nondet("2PC: the votes' decision and a presumed abort race to the log; the first one logged is the decision")
    ).into_keyed().fold(lambda: None, _decide, durable=logs.decisions)
    logged = log.entries().filter(lambda e: e[1] is not None).map(_decision_of)
    logged_ref.complete(logged)

    decisions = logged.unique()
    acked = all_responded(acks.send(coordinator).entries().map(lambda e: (e[1], e[0])).into_keyed(), members)
    outcomes = decisions.join(acked.map(lambda txid: (txid, None))).map(lambda e: (e[0], e[1][0]))
    return TwoPhaseCommit(decisions, outcomes, delivered)
