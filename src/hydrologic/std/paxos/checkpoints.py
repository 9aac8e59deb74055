"""Replicas with checkpoints and state transfer: the replica side of log compaction.

``checkpointed_replica`` is ``ordered_log`` and a state machine in one scan per replica, which
also

* **checkpoints**: every ``checkpoint_every`` applied slots it pickles its state machine (a
  *snapshot* at slot s: every slot below s applied), keeps it, writes it as durable state (one
  record, replaced by the next checkpoint) and reports s on ``checkpoints``, which
  ``paxos(checkpoints=...)`` sends to the acceptors. Output gating sends the report only once the
  snapshot is on disk; acceptors drop the slots below the highest s that ``f + 1`` replicas
  reported.
* **transfers state**: a replica whose log has a gap that does not fill (its next slot was
  dropped, or it missed the votes while it was down) asks a peer, after ``catch_up_after`` ticks
  of its clock without progress, for everything from its next slot. The peer answers with its
  latest snapshot, if the requester needs one, and the entries it applied since. The requester
  installs the snapshot (and makes it its own checkpoint) and applies the entries. It asks the
  peers in turn until the gap is filled.
* **restarts from its checkpoint**: with ``durable="name"``, a restarted replica starts from its
  last snapshot instead of slot 0, and fills the rest from a peer or from the new leader's
  re-proposals.

Memory per replica: the state machine, one snapshot (the pickled bytes), and at most about
``checkpoint_every`` entries since it; disk: the snapshot (the store rewrites the file once
superseded snapshots reach 4x its size).
"""

from __future__ import annotations

import functools
import logging
import pickle
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Hashable, TypeVar, Union, cast

from ...lang.cycles import ForwardRef
from ...lang.location import Cluster, MemberId
from ...lang.stream import Stream
from ...types.errors import UsageError
from ...types.markers import ExactlyOnce, NoOrder, TotalOrder, Unbounded
from ...types.nondet import NonDet, nondet
from ...types.site import caller_site
from .messages import Snapshot, SnapshotRequest
from .replica import slot_of

log = logging.getLogger("hydrologic.std.paxos")

T = TypeVar("T", bound=Hashable)
S = TypeVar("S")
Res = TypeVar("Res")
PT = TypeVar("PT")

CHECKPOINT_EVERY = 5000
"""Default slots between two checkpoints of a replica."""

CATCH_UP_AFTER = 10
"""Default clock ticks a replica waits at a gap in its log before asking a peer."""

SNAPSHOT = "snapshot"  # the record key of a replica's checkpoint: (slot, pickled state)

PeerMessage = Union[SnapshotRequest, Snapshot]
Outgoing = tuple[Union[int, MemberId[Any]], PeerMessage]
"""(the index of the peer to ask, or the member to answer, message)"""


@dataclass(frozen=True)
class ReplicaConfig:
    checkpoint_every: int
    catch_up_after: int


@dataclass(eq=False)
class ReplicaState(Generic[S, T, Res]):
    """One replica's log position, state machine and checkpoint, owned by its scan.

    ``applied``, ``checkpoints`` and ``to_peers`` hold what the latest step emits."""

    apply: Callable[[S, T], tuple[S, Res]]
    state: S
    next_slot: int = 0  # every slot below it is applied
    held: dict[int, T | None] = field(default_factory=lambda: {})  # committed above a gap
    snapshot_slot: int = 0  # the checkpoint: the state after applying every slot below it
    snapshot: bytes | None = None
    suffix: list[tuple[int, T | None]] = field(default_factory=lambda: [])  # applied since the checkpoint
    snapshot_changed: bool = False
    stalled: int = 0  # clock ticks at a gap without progress
    attempt: int = 0  # requests sent (the peer asked is the next in turn)
    installed: int = 0  # peers' snapshots installed (since this incarnation started)
    applied: list[tuple[int, T, Res]] = field(default_factory=lambda: [])
    checkpoints: list[int] = field(default_factory=lambda: [])
    to_peers: list[Outgoing] = field(default_factory=lambda: [])

    def __repr__(self) -> str:
        return (
            f"Replica(next_slot={self.next_slot} held={len(self.held)} snapshot_slot={self.snapshot_slot} "
            f"suffix={len(self.suffix)})"
        )

    # IncrementalState: the checkpoint is the replica's one durable record.
    def durable_records(self) -> list[tuple[Any, Any]]:
        if not self.snapshot_changed:
            return []
        self.snapshot_changed = False
        return [(SNAPSHOT, (self.snapshot_slot, self.snapshot))]

    def restore_records(self, records: dict[Any, Any]) -> None:
        entry = records.get(SNAPSHOT)
        if entry is None:
            return
        slot, data = entry
        if data is not None:
            self.state = pickle.loads(data)
        self.next_slot = self.snapshot_slot = slot
        self.snapshot = data
        log.info("replica restarts from its checkpoint at slot %d", slot)


ReplicaInbox = tuple[tuple[list[tuple[int, Any]], list[tuple[MemberId[Any], PeerMessage]]], int]
"""One replica tick: committed entries (slot order), peer messages (by sender), clock events."""


def replica_step(cfg: ReplicaConfig, st: ReplicaState[S, T, Res], inbox: ReplicaInbox) -> ReplicaState[S, T, Res]:
    (entries, from_peers), ticks = inbox
    st.applied, st.checkpoints, st.to_peers = [], [], []
    start = st.next_slot
    held = st.held
    for sender, msg in from_peers:
        if isinstance(msg, SnapshotRequest):
            answer = _answer(st, msg.next_slot)
            if answer is not None:
                st.to_peers.append((sender, answer))
        else:
            _install(st, msg)
    for slot, value in entries:
        if slot >= st.next_slot and slot not in held:
            held[slot] = value
    _release(st)
    if st.next_slot - st.snapshot_slot >= cfg.checkpoint_every:
        _checkpoint(st)
    # Catch-up: a gap that does not fill for catch_up_after ticks of the clock.
    if st.next_slot != start or not held:
        st.stalled = 0
    elif ticks:
        st.stalled += 1
        if st.stalled >= cfg.catch_up_after:
            st.stalled = 0
            st.to_peers.append((st.attempt, SnapshotRequest(st.next_slot)))
            st.attempt += 1
            log.info("replica asks a peer for the log from slot %d (%d slot(s) held above the gap)", st.next_slot, len(held))
    return st


def _answer(st: ReplicaState[Any, Any, Any], wanted: int) -> Snapshot | None:
    if wanted >= st.next_slot:
        return None  # nothing the requester lacks
    if wanted >= st.snapshot_slot:
        return Snapshot(st.snapshot_slot, None, tuple(e for e in st.suffix if e[0] >= wanted))
    return Snapshot(st.snapshot_slot, st.snapshot, tuple(st.suffix))


def _install(st: ReplicaState[S, T, Res], msg: Snapshot) -> None:
    if msg.state is not None and msg.slot > st.next_slot:
        st.state = pickle.loads(msg.state)
        log.info("replica installs a peer's snapshot at slot %d (was at %d)", msg.slot, st.next_slot)
        st.next_slot = st.snapshot_slot = msg.slot
        st.snapshot = msg.state
        st.suffix = []
        st.snapshot_changed = True
        st.installed += 1
        st.checkpoints.append(msg.slot)
        for slot in [s for s in st.held if s < msg.slot]:
            del st.held[slot]
    for slot, value in msg.suffix:
        if slot >= st.next_slot and slot not in st.held:
            st.held[slot] = value


def _release(st: ReplicaState[S, T, Res]) -> None:
    held, apply, suffix, applied = st.held, st.apply, st.suffix, st.applied
    state, slot = st.state, st.next_slot
    while slot in held:
        value = held.pop(slot)
        suffix.append((slot, value))
        if value is not None:
            state, result = apply(state, value)
            applied.append((slot, value, result))
        slot += 1
    st.state, st.next_slot = state, slot


def _checkpoint(st: ReplicaState[Any, Any, Any]) -> None:
    st.snapshot = pickle.dumps(st.state, protocol=5)
    st.snapshot_slot = st.next_slot
    st.suffix = []
    st.snapshot_changed = True
    st.checkpoints.append(st.next_slot)


@dataclass(frozen=True)
class CheckpointedReplica(Generic[T, Res, PT]):
    """What ``checkpointed_replica`` returns.

    ``applied``: at every replica, (slot, command, result) for each command it applied, in slot
    order (a replica that installs a peer's snapshot skips the slots the snapshot covers: their
    results were emitted by the replicas that applied them). ``checkpoints``: the slot of each
    new checkpoint; pass it to ``paxos(checkpoints=...)``."""

    applied: Stream[tuple[int, T, Res], Cluster[PT], Unbounded, TotalOrder, ExactlyOnce]
    checkpoints: Stream[int, Cluster[PT], Unbounded, TotalOrder, ExactlyOnce]


def checkpointed_replica(
    committed: Stream[tuple[int, T | None], Cluster[PT], Unbounded, NoOrder, ExactlyOnce],
    replicas: Cluster[PT],
    clock: Stream[Any, Cluster[PT], Unbounded, NoOrder, ExactlyOnce],
    init: Callable[[], S],
    apply: Callable[[S, T], tuple[S, Res]],
    *,
    nondet_catch_up: NonDet,
    checkpoint_every: int = CHECKPOINT_EVERY,
    catch_up_after: int = CATCH_UP_AFTER,
    durable: str | None = None,
) -> CheckpointedReplica[T, Res, PT]:
    """Apply ``committed`` (``paxos(...).committed``) in slot order to a state machine, with
    checkpoints every ``checkpoint_every`` slots and state transfer from peers (module docstring).

    ``apply(state, command) -> (state, result)`` must be deterministic, and its state picklable
    (a snapshot is the pickled state). Commands committed twice (across a leader change) reach
    ``apply`` twice: make it skip repeats (e.g. by per-client sequence numbers); a set of every
    command seen would grow forever. ``clock`` counts the ticks a replica waits at a gap
    (``catch_up_after``) before asking a peer. ``durable="name"``: the checkpoint is durable state
    ``name`` and a restarted replica starts from it; needed with ``paxos(durable=...)``.

    Non-determinism: which entries a tick releases, and whether a replica catches up by applying
    entries or by installing a peer's snapshot (``nondet_catch_up``): the state it reaches at
    each slot is the same either way, but a replica that installs a snapshot does not emit the
    results of the slots it skips.
    """
    site = caller_site()
    for name, value, low in (("checkpoint_every", checkpoint_every, 1), ("catch_up_after", catch_up_after, 1)):
        if not isinstance(value, int) or value < low:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", f"checkpointed_replica needs {name} >= {low}, got {value!r}", site=site)
    cfg = ReplicaConfig(checkpoint_every, catch_up_after)
    tick = replicas.tick()

    peer_out_ref: ForwardRef[Stream[Outgoing, Cluster[PT], Unbounded, TotalOrder, ExactlyOnce]]
    peer_out: Stream[Outgoing, Cluster[PT], Unbounded, TotalOrder, ExactlyOnce]
    peer_out_ref, peer_out = cast(Any, replicas.forward_ref(tuple, TotalOrder))
    others = replicas.cluster_members(replicas).zip(replicas.self_id())
    from_peers = (
        peer_out.cross_singleton(others)
        .flat_map_ordered(_route)
        .demux(replicas)
        .batch(
            tick,
            nondet(
                "a snapshot or a request may reach a replica's tick late: a late answer only delays "
                "catching up, and a snapshot is installed only if it is ahead of the replica",
                nondet_catch_up,
            ),
        )
        .entries()
        .sort(key=_sender_of)
        .collect_list()
    )
    entries = (
        committed.batch(
            tick,
            nondet(
                "entries are held back until every lower slot is known, so batching changes when an "
                "entry is applied, never the state at each slot",
                nondet_catch_up,
            ),
        )
        .sort(key=slot_of)
        .collect_list()
    )
    ticks = clock.batch(
        tick,
        nondet("how many clock events a tick sees only decides when a replica stuck at a gap asks a peer", nondet_catch_up),
    ).count()

    def start() -> ReplicaState[S, T, Res]:
        return ReplicaState(apply, init())

    steps = (
        entries.zip(from_peers)
        .zip(ticks)
        .into_stream()
        .all_ticks()
        .scan(start, functools.partial(replica_step, cfg), durable=durable)
    )
    peer_out_ref.complete(steps.flat_map_ordered(_to_peers_of))
    applied: Stream[tuple[int, T, Res], Cluster[PT], Unbounded, TotalOrder, ExactlyOnce] = steps.flat_map_ordered(_applied_of)
    checkpoints: Stream[int, Cluster[PT], Unbounded, TotalOrder, ExactlyOnce] = steps.flat_map_ordered(_checkpoints_of)
    return CheckpointedReplica(applied=applied, checkpoints=checkpoints)


def _route(x: tuple[Outgoing, tuple[tuple[MemberId[Any], ...], MemberId[Any]]]) -> list[tuple[MemberId[Any], PeerMessage]]:
    (dest, msg), (members, me) = x
    if isinstance(dest, int):
        peers = [m for m in members if m != me]
        return [(peers[dest % len(peers)], msg)] if peers else []
    return [(dest, msg)]


def _sender_of(e: tuple[MemberId[Any], PeerMessage]) -> int:
    return e[0].raw_id


def _to_peers_of(st: ReplicaState[Any, Any, Any]) -> list[Outgoing]:
    return st.to_peers


def _applied_of(st: ReplicaState[Any, T, Res]) -> list[tuple[int, T, Res]]:
    return st.applied


def _checkpoints_of(st: ReplicaState[Any, Any, Any]) -> list[int]:
    return st.checkpoints
