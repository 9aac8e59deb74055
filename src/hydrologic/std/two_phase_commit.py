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
from ..types.nondet import NonDet, nondet, proof

__all__ = [
    "all_responded",
    "unanimous",
    "two_phase_commit",
    "stateless_votes",
    "TwoPhaseCommit",
    "Participant",
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
) -> TwoPhaseCommit[Id, C, P]:
    """Run two-phase commit for each ``(txid, transaction)`` arriving at ``coordinator``.

    ``membership`` is the caller's reason that broadcasting to the cluster reaches every
    participant (static membership); it is forwarded to both broadcasts. Transaction ids must
    be unique. The coordinator waits for every vote before deciding (no early abort), so no
    participant sees a decision for a transaction it has not voted on.
    """
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
