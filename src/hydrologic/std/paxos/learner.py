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

from itertools import repeat
from operator import mod
from typing import Any, Hashable, NamedTuple, Protocol, TypeVar, Union, cast

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


Tally = Union[frozenset[Vote], tuple[Vote], Decided]
"""The votes so far (none: the empty frozenset; exactly one: a 1-tuple; more: a frozenset), or
the decision. One vote is a tuple only to spare hashing it; nothing compares a tally of one vote
with a tally of several (the fold's result for a set of votes has one form whatever their
order)."""


def vote_of(e: tuple[MemberId[Any], FromAcceptor[T]]) -> list[tuple[int, Vote]]:
    """One vote per slot of an acceptor's Accepted run (nothing for other messages). Built by
    ``zip`` in C: every learner makes three of these per slot (f = 1)."""
    acceptor, msg = e
    if type(msg) is Accepted:
        return list(zip(msg.slots, zip(repeat(msg.ballot), msg.values, repeat(acceptor))))
    return []


def no_votes() -> Tally:
    return _NO_VOTES


def tally_vote(f: int, tally: Tally, vote: Vote) -> Tally:
    """Add one vote to a slot's tally. This is every learner's work for every slot, three times
    per slot with f = 1, so the usual cases come first and build nothing they can avoid:

    * the first vote is kept as a 1-tuple: nothing looks it up, so it is never hashed (a
      Ballot's and a MemberId's hash are Python calls);
    * a second vote with the first one's ballot and value decides the slot when two votes
      make a quorum (f = 1), without building a set to count;
    * a late vote for the chosen value returns the decided tally itself.

    Everything else (rival ballots or values, f > 1, votes after a decision for another value)
    goes through ``_tally_general``, which counts as the set-and-count tally did.
    """
    t = type(tally)
    if t is Decided:
        if vote[1] in tally.chosen:  # type: ignore[union-attr]
            return tally  # a late vote for the chosen value: nothing changes
    elif t is tuple:  # one vote so far
        (b, v, a), = tally  # type: ignore[misc]
        ballot, value, acceptor = vote
        if (b is ballot or b == ballot) and v == value:
            if a == acceptor:
                return tally  # the same vote again
            if f == 1:
                return _new_tuple(Decided, ((value,), _NO_VOTES))
        return _tally_general(f, frozenset(tally), vote)  # type: ignore[arg-type]
    elif not tally and f:
        return (vote,)
    return _tally_general(f, tally, vote)


def _tally_general(f: int, tally: Tally, vote: Vote) -> Tally:
    ballot, value, _ = vote
    if isinstance(tally, Decided):
        if value in tally.chosen:
            return tally  # a late vote for the chosen value: nothing changes
        others = tally.others | {vote}
        if sum(1 for b, v, _a in others if b == ballot and v == value) >= commit_quorum(f):
            return Decided(tally.chosen + (value,), _without(others, value))
        return Decided(tally.chosen, others)
    assert isinstance(tally, frozenset)
    # Undecided: no (ballot, value) in ``tally`` has a quorum yet (it would be Decided), so a
    # vote already in it changes nothing. A Ballot is compared by identity first (a leader's
    # Accepts of one tick share one).
    if vote in tally:
        return tally
    n = 1
    for b, v, _a in tally:
        if (b is ballot or b == ballot) and v == value:
            n += 1
    if n >= commit_quorum(f):
        return Decided((value,), _without(tally, value))
    return tally.union((vote,))


_NT = TypeVar("_NT", bound=tuple[Any, ...])


class _TupleNew(Protocol):
    def __call__(self, cls: type[_NT], items: tuple[Any, ...], /) -> _NT: ...


_new_tuple = cast(_TupleNew, tuple.__new__)  # pyright: ignore[reportUnknownMemberType]
"""Makes a NamedTuple without its Python-level ``__new__`` (a third of the cost of making one)."""


_NO_VOTES: frozenset[Vote] = frozenset()


def _without(votes: frozenset[Vote], value: Any) -> frozenset[Vote]:
    rest = frozenset(o for o in votes if o[1] != value)
    return rest if rest else _NO_VOTES  # one shared empty set: a decided slot costs only its tuple


def decided_of(entry: tuple[int, Tally]) -> list[tuple[int, Any]]:
    """The value a slot's tally just chose: re-emitted tallies are ones whose chosen set grew."""
    slot, tally = entry
    return [(slot, tally.chosen[-1])] if type(tally) is Decided else []




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
        slots = msg.slots
        votes = zip(slots, zip(repeat(msg.ballot), msg.values, repeat(acceptor)))
        return list(zip(map(mod, slots, repeat(window)), votes))
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
        return _new_tuple(SlotTally, (slot, tally_vote(f, _NO_VOTES, v)))  # this slot's first vote
    tally = cur.tally
    new = tally_vote(f, tally, v)
    return cur if new is tally else _new_tuple(SlotTally, (slot, new))  # unchanged: not re-emitted


def windowed_decided_of(entry: tuple[int, SlotTally]) -> list[tuple[int, Any]]:
    return decided_of((entry[1].slot, entry[1].tally))
