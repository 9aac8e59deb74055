"""The Multi-Paxos learner: a value is committed for a slot once ``f + 1`` acceptors report
accepting it with the same ballot.

One tally per slot (``tally_vote``, a commutative fold): which entries are committed does not
depend on timing, only when, so this part has no nondet site.
"""

from __future__ import annotations

from typing import Any, Hashable, NamedTuple, TypeVar, Union

from ...lang.location import MemberId
from .messages import Accepted, Ballot, FromAcceptor

T = TypeVar("T", bound=Hashable)


def commit_quorum(f: int) -> int:
    """How many acceptors must accept a (slot, ballot) before learners commit it."""
    return f + 1


Vote = tuple[Ballot, Any, int]  # (ballot, value, acceptor's raw id)


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


def vote_of(e: tuple[MemberId[Any], FromAcceptor[T]]) -> tuple[int, Vote] | None:
    acceptor, msg = e
    if isinstance(msg, Accepted):
        return (msg.slot, (msg.ballot, msg.value, acceptor.raw_id))
    return None


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
    votes = tally | {vote}
    if sum(1 for b, v, _a in votes if b == ballot and v == value) >= commit_quorum(f):
        return Decided((value,), _without(votes, value))
    return votes


_NO_VOTES: frozenset[Vote] = frozenset()


def _without(votes: frozenset[Vote], value: Any) -> frozenset[Vote]:
    rest = frozenset(o for o in votes if o[1] != value)
    return rest if rest else _NO_VOTES  # one shared empty set: a decided slot costs only its tuple


def decided_of(entry: tuple[int, Tally]) -> list[tuple[int, Any]]:
    """The value a slot's tally just chose: re-emitted tallies are ones whose chosen set grew."""
    slot, tally = entry
    return [(slot, tally.chosen[-1])] if isinstance(tally, Decided) else []


