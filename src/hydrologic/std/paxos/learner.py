"""The Multi-Paxos learner: a value is committed for a slot once ``f + 1`` acceptors report
accepting it with the same ballot.

Acceptors vote on *runs*: a leader proposes each tick's slots in one ``Accept``, and an acceptor
answers it with one ``Accepted`` carrying the same slots and values. So the learner counts votes
once per run (``tally_run``), not once per slot: counting per slot made every learner do, for
every command, the work of ``2f + 1`` votes (a third of a replica's time under load). Then each
slot of a decided run goes through ``tally_chosen``, which emits a slot the first time a value
is chosen for it (a slot re-proposed by a new leader can be in two decided runs, with the same
value) and again if a *different* value is ever chosen for it, which a correct protocol never
does: such a break is shown downstream, not masked.

Both are commutative folds: which entries are committed depends on the set of votes received,
not on their order or timing (only *when* does), so this part has no nondet site.

With checkpoints (``paxos(checkpoints=...)``) both folds keep one entry per position of a window
of slots (``LEARNER_WINDOW``), so a learner's memory is bounded however long the log grows.
"""

from __future__ import annotations

from typing import Any, Hashable, NamedTuple, TypeVar

from ...lang.location import MemberId
from .messages import ZERO, Accepted, Ballot, FromAcceptor

T = TypeVar("T", bound=Hashable)


def commit_quorum(f: int) -> int:
    """How many acceptors must accept a (slot, ballot) before learners commit it."""
    return f + 1


LEARNER_WINDOW = 1 << 14
"""With checkpoints (``paxos(checkpoints=...)``), a learner keeps tallies for this many slots."""


# --- runs: what acceptors vote on

Content = tuple[tuple[int, ...], tuple[Any, ...], "frozenset[int] | None"]
"""One proposal of a run: its slots, its values, and the acceptors that voted for it so far
(``None`` once ``f + 1`` have: decided, later votes change nothing)."""

RunVote = tuple[int, Ballot, tuple[int, ...], tuple[Any, ...], int]
"""(first slot, ballot, slots, values, the voting acceptor's raw id)"""


class RunTally(NamedTuple):
    """The votes for one run, identified by its first slot and ballot.

    A leader proposes each slot once per ballot, so a (first slot, ballot) has one proposal and
    ``contents`` one entry. More than one means the protocol is broken (two proposals under one
    ballot); each is then counted on its own, and kept in a canonical order so that the fold
    stays commutative.

    Windowed (``key`` = first slot modulo the window), a position keeps the newest run: a vote
    for a run with a higher (first slot, ballot) replaces the tally, a vote for a lower one is
    dropped. A run whose tally was replaced before it was decided here is decided by the newer
    run or, for slots nobody re-proposes, filled from a peer replica (``checkpointed_replica``).
    """

    first: int
    ballot: Ballot
    contents: tuple[Content, ...]


_NO_RUN = RunTally(-1, ZERO, ())


def no_run() -> RunTally:
    return _NO_RUN


def run_vote_of(window: int, e: tuple[MemberId[Any], FromAcceptor[T]]) -> list[tuple[Hashable, RunVote]]:
    """An acceptor's Accepted as one vote, keyed by its run: (first slot, ballot), or with a
    window the first slot's position in it (``window`` = 0: no window)."""
    acceptor, msg = e
    if type(msg) is Accepted and msg.slots:
        first = msg.slots[0]
        key: Hashable = first % window if window else (first, msg.ballot)
        return [(key, (first, msg.ballot, msg.slots, msg.values, acceptor.raw_id))]
    return []


def tally_run(f: int, cur: RunTally, vote: RunVote) -> RunTally:
    first, ballot, slots, values, acceptor = vote
    if first != cur.first or ballot != cur.ballot:
        if (first, ballot) < (cur.first, cur.ballot):
            return cur  # an older run at this position of the window
        return RunTally(first, ballot, (_counted(f, slots, values, frozenset((acceptor,))),))
    contents = cur.contents
    if len(contents) == 1:
        s0, v0, voters = contents[0]
        if (s0 is slots and v0 is values) or (s0 == slots and v0 == values):
            if voters is None or acceptor in voters:
                return cur  # decided already (the usual last vote), or a repeated vote
            return RunTally(first, ballot, (_counted(f, s0, v0, voters | {acceptor}),))
    return RunTally(first, ballot, _with_conflicting(f, contents, slots, values, acceptor))


def _counted(f: int, slots: tuple[int, ...], values: tuple[Any, ...], voters: frozenset[int]) -> Content:
    return (slots, values, None if len(voters) >= commit_quorum(f) else voters)


def _with_conflicting(
    f: int, contents: tuple[Content, ...], slots: tuple[int, ...], values: tuple[Any, ...], acceptor: int
) -> tuple[Content, ...]:
    """A broken protocol's case: two proposals for one (first slot, ballot)."""
    by_content: dict[tuple[tuple[int, ...], tuple[Any, ...]], frozenset[int] | None] = {
        (s, v): voters for s, v, voters in contents
    }
    voters = by_content.get((slots, values), frozenset())
    if voters is not None and acceptor not in voters:
        by_content[(slots, values)] = _counted(f, slots, values, voters | {acceptor})[2]
    return tuple(sorted(((s, v, x) for (s, v), x in by_content.items()), key=lambda c: hash((c[0], c[1]))))


def decided_slots_of(window: int, entry: tuple[Hashable, RunTally]) -> list[tuple[int, tuple[int, Any]]]:
    """Every (slot, value) of a run's decided proposals, keyed for ``tally_chosen``."""
    out: list[tuple[int, tuple[int, Any]]] = []
    for slots, values, voters in entry[1].contents:
        if voters is None:
            if window:
                out.extend([(slot % window, (slot, value)) for slot, value in zip(slots, values)])
            else:
                out.extend([(slot, (slot, value)) for slot, value in zip(slots, values)])
    return out


# --- slots: each chosen value once


class Decided(NamedTuple):
    """The values chosen for a slot, in the order this learner saw them chosen (more than one
    only if the protocol is broken; each is emitted, so the break shows downstream instead of
    being masked).

    Equal when the same values were chosen, whatever the order, so that top-level ``entries``
    re-emits a slot only when a new value is chosen, and so that the simulator's check of the
    fold's commutativity claim (with the same ``==``) holds.
    """

    chosen: tuple[Any, ...]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Decided) and frozenset(self.chosen) == frozenset(other.chosen)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(frozenset(self.chosen))


class SlotTally(NamedTuple):
    """The values chosen for the newest slot seen at one key (one slot per key without a
    window; ``slot`` modulo the window with one)."""

    slot: int
    decided: Decided | None


_NO_SLOT = SlotTally(-1, None)


def no_slot() -> SlotTally:
    return _NO_SLOT


def tally_chosen(cur: SlotTally, chosen: tuple[int, Any]) -> SlotTally:
    """Slots ``s`` and ``s + window`` share a position: a newer slot replaces the older one's
    entry, an older one is dropped (it was emitted when it was chosen, or its replica fills it
    from a peer), and values chosen for the same slot accumulate. The result is the same
    whatever the order (a join: commutative)."""
    slot, value = chosen
    if slot < cur.slot:
        return cur
    decided = cur.decided
    if slot > cur.slot or decided is None:
        return SlotTally(slot, Decided((value,)))
    if value in decided.chosen:
        return cur  # chosen again, in a re-proposed run: nothing new
    return SlotTally(slot, Decided(decided.chosen + (value,)))


def chosen_of(entry: tuple[int, SlotTally]) -> list[tuple[int, Any]]:
    """The value just chosen for a slot: a re-emitted entry is one whose chosen set grew."""
    tally = entry[1]
    return [] if tally.decided is None else [(tally.slot, tally.decided.chosen[-1])]
