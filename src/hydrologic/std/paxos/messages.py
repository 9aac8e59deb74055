"""The messages Multi-Paxos roles exchange, and the ballots that order them.

Every message is slotted (small in acceptors' logs) and has ``__reduce__``, so that pickling one
between processes is a constructor call: a slotted frozen dataclass otherwise pickles through
``__getstate__``, which calls ``dataclasses.fields()`` per object (a third of an acceptor's time
under load).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Hashable, TypeVar, Union

from ...lang.location import MemberId

__all__ = ["Accept", "Accepted", "Ballot", "FromAcceptor", "KeepAlive", "Nack", "Prepare", "Promise", "Reply", "Snapshot", "SnapshotChunk", "SnapshotRequest", "ToAcceptor", "ZERO"]

T = TypeVar("T", bound=Hashable)

@dataclass(frozen=True, slots=True, order=True)
class Ballot:
    """A ballot: ordered by number, then by the raw id of the proposer that owns it."""

    num: int
    proposer: int

    def __repr__(self) -> str:
        return f"Ballot({self.num}, p{self.proposer})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Ballot, (self.num, self.proposer))



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
    accepted for slots from the Prepare's ``from_slot`` on. ``compacted``: every slot below it
    is chosen and was dropped from this acceptor's log (a checkpoint replaces it, see
    ``checkpoints``), so a new leader neither recovers nor re-proposes those slots."""

    ballot: Ballot
    log: tuple[tuple[int, Ballot, T | None], ...]
    compacted: int = 0

    def __reduce__(self) -> tuple[Any, ...]:
        return (Promise, (self.ballot, self.log, self.compacted))


@dataclass(frozen=True, slots=True)
class Accept(Generic[T]):
    """Phase 2a: the leader of ``ballot`` proposes ``values[i]`` (``None``: a no-op) for
    ``slots[i]``, every slot it proposes in one tick in one message.

    A run, not one message per slot, because per-slot messages made the data path pay per
    command for what is per tick: a frame's objects to pickle and rebuild, a request to sort at
    each acceptor, a vote message to decode at each learner. An acceptor handles a run as the
    same Accepts delivered together, one of the schedules per-slot messages already allowed, so
    safety is unchanged and the simulator has fewer interleavings to explore.
    """

    ballot: Ballot
    slots: tuple[int, ...]
    values: tuple[T | None, ...]

    def __reduce__(self) -> tuple[Any, ...]:
        return (Accept, (self.ballot, self.slots, self.values))


@dataclass(frozen=True, slots=True)
class Accepted(Generic[T]):
    """Phase 2b: an acceptor accepted ``values[i]`` for ``slots[i]`` in ``ballot`` (sent to every
    learner; one message per Accept it took, less any slot it has already compacted)."""

    ballot: Ballot
    slots: tuple[int, ...]
    values: tuple[T | None, ...]

    def __reduce__(self) -> tuple[Any, ...]:
        return (Accepted, (self.ballot, self.slots, self.values))


@dataclass(frozen=True, slots=True)
class Nack:
    """A refusal: the acceptor has promised ``ballot``, which is higher than the request's."""

    ballot: Ballot

    def __reduce__(self) -> tuple[Any, ...]:
        return (Nack, (self.ballot,))


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """A leader's lease renewal (leases only): the leader of ``ballot`` is alive. An acceptor
    that has promised ``ballot`` grants it the lease for ``lease`` ticks of its own clock, and
    refuses every other proposer's Prepare until the lease runs out."""

    ballot: Ballot

    def __reduce__(self) -> tuple[Any, ...]:
        return (KeepAlive, (self.ballot,))


# --- checkpoints and state transfer


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    """A replica whose log has a gap it cannot fill asks a peer for everything from ``next_slot``."""

    next_slot: int

    def __reduce__(self) -> tuple[Any, ...]:
        return (SnapshotRequest, (self.next_slot,))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A peer's answer when the requester needs only log entries: the committed entries it
    applied since its checkpoint at ``slot`` (``(slot, command)``, in slot order, from the
    requested slot on)."""

    slot: int
    suffix: tuple[tuple[int, Any], ...]

    def __reduce__(self) -> tuple[Any, ...]:
        return (Snapshot, (self.slot, self.suffix))


@dataclass(frozen=True, slots=True)
class SnapshotChunk:
    """One slice of a peer's state, when the requester needs more than log entries: the state
    travels as ``(key, value)`` records in chunks, numbered by ``index`` within the sender's
    ``transfer``, read while the sender keeps applying commands. The last chunk (``slot >= 0``)
    also carries every key that changed since the transfer started (in ``records``, or in
    ``deleted`` if it is gone), so chunks and last chunk together are the state after applying
    every slot below ``slot``."""

    transfer: int
    index: int
    records: tuple[tuple[Any, Any], ...]
    slot: int = -1
    deleted: tuple[Any, ...] = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return (SnapshotChunk, (self.transfer, self.index, self.records, self.slot, self.deleted))


ToAcceptor = Union[Prepare, Accept[T], KeepAlive]
FromAcceptor = Union[Promise[T], Accepted[T], Nack]
Reply = tuple[Union[MemberId[Any], None], FromAcceptor[T]]  # (addressee, or None: every proposer)
