"""The Multi-Paxos acceptor as a pure state machine.

Each acceptor tick's batch of Prepare/Accept/KeepAlive messages, with the number of clock events
the tick saw, is one step (``acceptor_step``) of a scan that handles the messages in a canonical
serial order (ballot order, ``request_order``), keeping the promised ballot, the accepted log and
the lease it granted (``AcceptorState``). ``DurableAcceptorState`` also writes the promise and
each accepted slot as durable records, so a restarted acceptor keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Hashable, TypeVar

from ...lang.location import MemberId
from ...storage.base import DELETE
from .messages import ZERO, Accepted, Ballot, KeepAlive, Nack, Prepare, Promise, Reply, ToAcceptor

T = TypeVar("T", bound=Hashable)


@dataclass(eq=False)
class AcceptorState(Generic[T]):
    """One acceptor's promised ballot and accepted log, owned (and updated in place) by its scan,
    which emits it after each step; ``out`` holds the replies of the latest step only."""

    promised: Ballot = ZERO
    log: dict[int, tuple[Ballot, T | None]] = field(default_factory=lambda: {})
    out: list[Reply[T]] = field(default_factory=lambda: [])
    # Durable acceptors only (``DurableAcceptorState``): what changed since the last write.
    changed_slots: dict[int, None] | None = None
    promised_changed: bool = False
    # Leases (``paxos(acceptor_clock=..., lease=n)``): ticks of this acceptor's clock so far, and
    # the proposer holding the lease until ``lease_until`` (volatile: a restart ends the lease).
    clock: int = 0
    lease_holder: int = -1
    lease_until: int = 0
    # Compaction (``paxos(checkpoints=...)``): every slot below ``compacted`` is chosen and
    # dropped; ``checkpoints`` is the highest checkpoint each replica (raw id) reported.
    compacted: int = 0
    compacted_changed: bool = False
    checkpoints: dict[int, int] = field(default_factory=lambda: {})

    @staticmethod
    def start() -> AcceptorState[T]:
        return AcceptorState()

    def __repr__(self) -> str:
        return f"Acceptor(promised={self.promised!r}, log={len(self.log)} slot(s))"

    def __sim_state__(self) -> tuple[Any, ...]:
        """What the simulator's state cache compares (``exhaustive(states=True)``): everything
        a later step reads. Not ``out``, which only the step that wrote it reads; the log by slot,
        since it is only looked up by slot and reported sorted."""
        changed = None if self.changed_slots is None else tuple(self.changed_slots)
        return (
            type(self).__name__, self.promised, tuple(sorted(self.log.items())), changed, self.promised_changed,
            self.clock, self.lease_holder, self.lease_until,
        )


PROMISED = "promised"  # the record key of the promised ballot (slots are int keys)
COMPACTED = "compacted"  # the record key of the compaction point


@dataclass(eq=False, repr=False)
class DurableAcceptorState(AcceptorState[T]):
    """An acceptor whose promise and accepted values survive a restart (``paxos(durable=...)``).

    Persisted record by record (``IncrementalState``): the promised ballot under ``"promised"``
    and each accepted slot under its number, so a tick writes the slots it accepted and, if it
    changed, the promised ballot; never the whole log. Output gating sends a Promise or an
    Accepted only once what it reports is on disk, so a restarted acceptor never forgets a
    promise or a vote it has already given.
    """

    changed_slots: dict[int, None] | None = field(default_factory=lambda: {})

    @staticmethod
    def start() -> AcceptorState[T]:
        return DurableAcceptorState()

    def durable_records(self) -> list[tuple[Any, Any]]:
        changed = self.changed_slots
        assert changed is not None
        log = self.log
        records: list[tuple[Any, Any]] = [(slot, log[slot] if slot in log else DELETE) for slot in changed]
        if self.promised_changed:
            records.append((PROMISED, self.promised))
            self.promised_changed = False
        if self.compacted_changed:
            records.append((COMPACTED, self.compacted))
            self.compacted_changed = False
        changed.clear()
        return records

    def restore_records(self, records: dict[Any, Any]) -> None:
        for key, value in records.items():
            if key == PROMISED:
                self.promised = value
            elif key == COMPACTED:
                self.compacted = value
            else:
                self.log[key] = value


AcceptorInbox = tuple[list[tuple[MemberId[Any], ToAcceptor[T]]], int]
"""One acceptor tick: its requests in ballot order, and how many clock events it saw."""


def acceptor_step(lease: int, st: AcceptorState[T], inbox: AcceptorInbox[T]) -> AcceptorState[T]:
    """Handle a tick's requests one by one in ballot order (a valid serial order of arrival).

    A Prepare is promised only if its ballot is strictly above every ballot promised so far: a
    ballot is promised once, so a proposer that restarted and, not knowing, campaigned again
    with a ballot it had used before is refused (and learns the higher ballot from the Nack).

    With leases (``lease`` > 0 ticks of this acceptor's clock), an Accept or KeepAlive of the
    promised ballot grants its proposer the lease, and while it lasts a Prepare from any other
    proposer is refused: a leader that keeps its lease alive is not deposed, whatever a paused
    or slow proposer believes when it wakes up. Leases only ever refuse, so safety does not
    depend on clocks; they decide only who may lead."""
    requests, ticks = inbox
    st.clock += ticks
    out: list[Reply[T]] = []
    changed = st.changed_slots
    for sender, msg in requests:
        if isinstance(msg, Prepare):
            leased = lease and st.clock < st.lease_until and st.lease_holder != msg.ballot.proposer
            if msg.ballot > st.promised and not leased:
                st.promised = msg.ballot
                st.promised_changed = True
                log = tuple(sorted((slot, b, v) for slot, (b, v) in st.log.items() if slot >= msg.from_slot))
                out.append((sender, Promise(msg.ballot, log, st.compacted)))
            else:
                out.append((sender, Nack(st.promised)))
        elif isinstance(msg, KeepAlive):
            if msg.ballot >= st.promised:
                if msg.ballot != st.promised:
                    st.promised = msg.ballot
                    st.promised_changed = True
                if lease:
                    st.lease_holder, st.lease_until = msg.ballot.proposer, st.clock + lease
            else:
                out.append((sender, Nack(st.promised)))
        elif msg.ballot >= st.promised:
            # Accepting also promises: this acceptor will never answer a lower Prepare again, so
            # every Promise reports only entries with lower ballots than the one it promises.
            if msg.ballot != st.promised:
                st.promised = msg.ballot
                st.promised_changed = True
            ballot = st.promised  # one Ballot object per ballot in the log, not one per message
            slots, values = msg.slots, msg.values
            if not slots:
                continue
            # Every accepted ballot is at most the promised one, which ``ballot`` now is: each
            # slot takes the new value. Slots below the compaction point are chosen and
            # checkpointed: not kept, but the reply echoes the whole run (no copy), which is
            # harmless: the proposal's value for them is the chosen one, since a leader recovers
            # every uncompacted slot from a quorum.
            entries, compacted = st.log, st.compacted
            if min(slots) >= compacted:
                for s, v in zip(slots, values):
                    entries[s] = (ballot, v)
                if changed is not None:
                    changed.update(dict.fromkeys(slots))
            else:
                for s, v in zip(slots, values):
                    if s >= compacted:
                        entries[s] = (ballot, v)
                        if changed is not None:
                            changed[s] = None
            out.append((None, Accepted(ballot, slots, values)))  # the shared object: pickled once per frame
            if lease:
                st.lease_holder, st.lease_until = msg.ballot.proposer, st.clock + lease
        else:
            out.append((sender, Nack(st.promised)))
    st.out = out
    return st


def replies_of(st: AcceptorState[T]) -> list[Reply[T]]:
    """The replies of the step that just ran."""
    return st.out


def request_order(e: tuple[MemberId[Any], ToAcceptor[T]]) -> tuple[Ballot, int, int]:
    m = e[1]
    if isinstance(m, Prepare):
        return (m.ballot, 0, -1)
    if isinstance(m, KeepAlive):
        return (m.ballot, 2, -1)
    return (m.ballot, 1, m.slots[0] if m.slots else -1)




# --- checkpoints and compaction

CompactingInbox = tuple[list[tuple[MemberId[Any], ToAcceptor[T]]], int, list[tuple[int, int]]]
"""One tick of a compacting acceptor: requests, clock events, and ``(replica raw id, checkpoint
slot)`` reports."""


def compaction_point(f: int, checkpoints: dict[int, int]) -> int:
    """The slot below which every slot may be dropped: the highest slot that ``f + 1`` replicas
    have a durable checkpoint of (the (f + 1)-th highest report; 0 while fewer have reported).

    Why f + 1 and not all: a replica that is down would stop compaction for as long as it is
    down, so memory and disk would grow without bound. Why not one: if that replica failed, the
    others could need the dropped slots with no snapshot left to replace them. With f + 1, a
    replica that needs a dropped slot (restarted from an older checkpoint, or lagging) finds a
    snapshot covering it at any of f + 1 replicas, which keep it on disk, so up to f of them
    may be down."""
    if len(checkpoints) < f + 1:
        return 0
    return sorted(checkpoints.values(), reverse=True)[f]


def compacting_acceptor_step(lease: int, f: int, st: AcceptorState[T], inbox: CompactingInbox[T]) -> AcceptorState[T]:
    """``acceptor_step``, after taking in the tick's checkpoint reports: once ``f + 1`` replicas
    hold a checkpoint at or above slot s, every slot below s is dropped, from memory and (as
    ``DELETE`` records) from the durable log, whose file the store then rewrites smaller."""
    requests, ticks, reports = inbox
    if reports:
        ckpts = st.checkpoints
        for replica, slot in reports:
            if slot > ckpts.get(replica, 0):
                ckpts[replica] = slot
        point = compaction_point(f, ckpts)
        if point > st.compacted:
            log, changed = st.log, st.changed_slots
            if point - st.compacted <= len(log):
                dropped = [s for s in range(st.compacted, point) if s in log]
            else:
                dropped = [s for s in log if s < point]
            for s in dropped:
                del log[s]
                if changed is not None:
                    changed[s] = None
            st.compacted = point
            st.compacted_changed = True
    return acceptor_step(lease, st, (requests, ticks))
