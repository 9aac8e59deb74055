"""The Multi-Paxos learner: a value is committed for a slot once ``f + 1`` acceptors report
accepting it with the same ballot.

Acceptors vote on *runs* (an ``Accepted`` carries every slot of one ``Accept``), and each vote
is counted per slot (``tally_vote``, a commutative fold): which entries are committed does not
depend on timing, only when, so this part has no nondet site.

Why per slot and not per run, although a run-level tally is about a fifth cheaper on the
replicated store: a learner's memory must stay bounded, and a tally kept per position of a
window of slots is replaced slot by slot as the log moves on. A run tally keyed by its first
slot's position is replaced only when another run happens to start at that position, so decided
runs, with their values, piled up (measured: a replica's memory grew by about 120 MB per
100,000 SETs). docs/paxos.md has the numbers.
"""

from __future__ import annotations

from typing import Any, Hashable, NamedTuple, TypeVar, Union

from ...lang.location import MemberId
from .messages import Accepted, Ballot, FromAcceptor

T = TypeVar("T", bound=Hashable)


def commit_quorum(f: int) -> int:
    """How many acceptors must accept a (slot, ballot) before learners commit it."""
    return f + 1


Vote = tuple[Ballot, Any, MemberId[Any]]  # (ballot, value, acceptor)
"""The acceptor is its ``MemberId``, not its raw id: the simulator's symmetry reduction renames
acceptors in the learners' state, which it can only do for ids that say which cluster they name."""


class Decided(NamedTuple):
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
        return isinstance(other, Decided) and frozenset(self.chosen) == frozenset(other.chosen)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(frozenset(self.chosen))


Tally = Union[frozenset[Vote], Decided]  # the votes so far, or the decision


def vote_of(e: tuple[MemberId[Any], FromAcceptor[T]]) -> list[tuple[int, Vote]]:
    """One vote per slot of an acceptor's Accepted run (nothing for other messages)."""
    acceptor, msg = e
    if type(msg) is Accepted:
        ballot, a = msg.ballot, acceptor
        return [(slot, (ballot, value, a)) for slot, value in zip(msg.slots, msg.values)]
    return []


def no_votes() -> Tally:
    return _NO_VOTES


def tally_vote(f: int, tally: Tally, vote: Vote) -> Tally:
    ballot, value, _ = vote
    if isinstance(tally, Decided):
        if value in tally.chosen:
            return tally  # a late vote for the chosen value: nothing changes
        others = tally.others | {vote}
        if sum(1 for b, v, _a in others if b == ballot and v == value) >= commit_quorum(f):
            return Decided(tally.chosen + (value,), _without(others, value))
        return Decided(tally.chosen, others)
    # Undecided: no (ballot, value) in ``tally`` has a quorum yet (it would be Decided), so a
    # vote already in it changes nothing. This is every follower's work for every slot, three
    # times per slot with f = 1: written as a plain loop, and a Ballot compared by identity
    # first (a leader's Accepts of one tick share one), it costs about two thirds of what the
    # set union and generator it replaces did.
    if vote in tally:
        return tally
    n = 1
    for b, v, _a in tally:
        if (b is ballot or b == ballot) and v == value:
            n += 1
    if n >= commit_quorum(f):
        return Decided((value,), _without(tally, value))
    return tally.union((vote,))


_NO_VOTES: frozenset[Vote] = frozenset()


def _without(votes: frozenset[Vote], value: Any) -> frozenset[Vote]:
    rest = frozenset(o for o in votes if o[1] != value)
    return rest if rest else _NO_VOTES  # one shared empty set: a decided slot costs only its tuple


def decided_of(entry: tuple[int, Tally]) -> list[tuple[int, Any]]:
    """The value a slot's tally just chose: re-emitted tallies are ones whose chosen set grew."""
    slot, tally = entry
    return [(slot, tally.chosen[-1])] if isinstance(tally, Decided) else []




# --- checkpoints: a learner with bounded memory

LEARNER_WINDOW = 1 << 14
"""With checkpoints (``paxos(checkpoints=...)``), a learner keeps tallies for this many slots."""


class SlotTally(NamedTuple):
    """The tally of the newest slot seen in one position of the learner's window."""

    slot: int
    tally: Tally


_NO_SLOT = SlotTally(-1, _NO_VOTES)


def no_slot() -> SlotTally:
    return _NO_SLOT


def windowed_vote_of(window: int, e: tuple[MemberId[Any], FromAcceptor[T]]) -> list[tuple[int, tuple[int, Vote]]]:
    """Each vote of an Accepted run keyed by its slot's position in the window (``slot % window``)."""
    acceptor, msg = e
    if type(msg) is Accepted:
        ballot, a = msg.ballot, acceptor
        return [(slot % window, (slot, (ballot, value, a))) for slot, value in zip(msg.slots, msg.values)]
    return []


def tally_windowed(f: int, cur: SlotTally, vote: tuple[int, Vote]) -> SlotTally:
    """Slots ``s`` and ``s + window`` share a position: a vote for a newer slot replaces the
    older slot's tally, a vote for an older one is dropped, and votes for the same slot are
    tallied as usual. The result is the tally of the newest slot with all of its votes, whatever
    the order (a join: commutative). A slot whose tally was replaced before it was decided here
    (its votes arrived ``window`` slots late) is never emitted by this learner; its replica then
    fills the gap from a peer (``checkpointed_replica``)."""
    slot, v = vote
    cur_slot = cur.slot
    if slot < cur_slot:
        return cur
    if slot > cur_slot:
        return SlotTally(slot, tally_vote(f, _NO_VOTES, v))
    tally = cur.tally
    if type(tally) is Decided:
        if v[1] in tally.chosen:
            return cur  # a late vote for the chosen value (the usual last vote): nothing changes
    elif isinstance(tally, frozenset) and len(tally) == 1 and commit_quorum(f) == 2:
        # The usual second vote, without building sets to count: a second acceptor for the same
        # (ballot, value) decides the slot.
        (ballot, value, acceptor), = tally
        if v[0] == ballot and v[2] != acceptor and v[1] == value:
            return SlotTally(slot, Decided((value,), _NO_VOTES))
    return SlotTally(slot, tally_vote(f, tally, v))


def windowed_decided_of(entry: tuple[int, SlotTally]) -> list[tuple[int, Any]]:
    return decided_of((entry[1].slot, entry[1].tally))
