"""Replicas with checkpoints and state transfer: the replica side of log compaction.

``checkpointed_replica`` is ``ordered_log`` and a state machine in one scan per replica, which
also

* **checkpoints**: every ``checkpoint_every`` applied slots it takes a checkpoint at slot s (the
  state after applying every slot below s), writes it as durable state and reports s on
  ``checkpoints``, which ``paxos(checkpoints=...)`` sends to the acceptors. Output gating sends
  the report only once the checkpoint is on disk; acceptors drop the slots below the highest s
  that ``f + 1`` replicas reported. A state machine that implements ``IncrementalCheckpoint``
  (``snapshots.py``) is written as a *delta*: the records of the keys it changed since the
  previous checkpoint, and the new slot, in one atomic write; restoring reads the first copy
  plus every delta. Any other state is pickled whole at each checkpoint.
* **transfers state**: a replica whose log has a gap that does not fill (its next slot was
  dropped, or it missed the votes while it was down) asks a peer, after ``catch_up_after`` ticks
  of its clock without progress, for everything from its next slot; a restarted replica asks
  every peer once, at its first tick. A peer that still has the entries answers with them;
  otherwise it sends its state in ``chunk``-key slices, one per tick, read while it keeps
  applying commands, the last slice with every key changed meanwhile (``FuzzyCopy``), so no
  tick does O(state) work and no message holds the whole state. The requester keeps the chunks
  aside and installs them once all came (and makes the result its checkpoint, written to disk a
  slice per tick). It asks the peers in turn until the gap is filled.
* **restarts from its checkpoint**: with ``durable="name"``, a restarted replica starts from its
  last checkpoint instead of slot 0, and fills the rest from a peer or from the new leader's
  re-proposals.

Memory per replica: the state machine and at most about ``checkpoint_every`` entries applied
since the checkpoint (plus, while a peer's state arrives, its chunks). Disk: the checkpoint's
records (the durable log rewrites itself once superseded records reach 4x the live ones).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Hashable, TypeVar, Union, cast

from ...lang.cycles import ForwardRef
from ...lang.location import Cluster, MemberId
from ...lang.stream import Stream
from ...storage.base import DELETE
from ...types.errors import UsageError
from ...types.markers import ExactlyOnce, NoOrder, TotalOrder, Unbounded
from ...types.nondet import NonDet, nondet
from ...types.site import caller_site
from .messages import Snapshot, SnapshotChunk, SnapshotRequest
from .replica import slot_of
from .snapshots import WHOLE, FuzzyCopy, Incoming, dump, is_incremental, keys_of, load

log = logging.getLogger("hydrologic.std.paxos")

T = TypeVar("T", bound=Hashable)
S = TypeVar("S")
Res = TypeVar("Res")
PT = TypeVar("PT")

CHECKPOINT_EVERY = 20000
"""Default slots between two checkpoints of a replica.

A trade: a checkpoint writes every key changed since the last one, so a longer interval writes
each hot key fewer times (with 10,000 keys under random SETs, 0.8 records per command every
5,000 slots, 0.43 every 20,000), while acceptors keep, and a restarted replica replays, up to an
interval of log. On the durable replicated store (docs/benchmarks.md) 5,000 cost a quarter of the
throughput; 20,000 keeps about 20 MB of 1 KiB entries per acceptor. (etcd snapshots every
100,000 entries; PySyncObj compacts at most every 300 s.)"""

CATCH_UP_AFTER = 10
"""Default clock ticks a replica waits at a gap in its log before asking a peer."""

CHUNK = 4096
"""Default keys per slice of a state transfer, of a checkpoint rewrite and of a clean-up."""

META = "meta"  # the record of a replica's checkpoint: (slot, generation); its keys are ("k", generation, key)
EVERY_PEER = -1  # a destination: every other replica

PeerMessage = Union[SnapshotRequest, Snapshot, SnapshotChunk]
Outgoing = tuple[Union[int, MemberId[Any]], PeerMessage]
"""(the index of the peer to ask, EVERY_PEER, or the member to answer, message)"""


@dataclass(frozen=True)
class ReplicaConfig:
    checkpoint_every: int
    catch_up_after: int
    chunk: int = CHUNK
    durable: bool = True  # write the checkpoint as durable records (``durable_records``)


@dataclass(eq=False)
class Transfer:
    """A state transfer being sent: ``copy`` advances a slice per tick."""

    to: MemberId[Any]
    id: int
    copy: FuzzyCopy
    index: int = 0


@dataclass(eq=False)
class Rewrite:
    """A whole checkpoint being written a slice per tick into generation ``gen`` (after
    installing a peer's state); the checkpoint on disk stays the previous one until it ends."""

    gen: int
    copy: FuzzyCopy


@dataclass(eq=False)
class ReplicaState(Generic[S, T, Res]):
    """One replica's log position, state machine and checkpoint, owned by its scan.

    ``applied``, ``checkpoints`` and ``to_peers`` hold what the latest step emits."""

    apply: Callable[[S, T], tuple[S, Res]]
    state: S
    init: Callable[[], S] | None = None  # a fresh state, to install a peer's records into
    next_slot: int = 0  # every slot below it is applied
    held: dict[int, T | None] = field(default_factory=lambda: {})  # committed above a gap
    snapshot_slot: int = 0  # the latest checkpoint (on disk, for a durable replica)
    suffix_start: int = 0  # ``suffix`` holds the entries applied from this slot on
    suffix: list[tuple[int, T | None]] = field(default_factory=lambda: [])
    dirty: set[Hashable] = field(default_factory=lambda: set())  # keys changed since the checkpoint
    gen: int = 0  # the generation of the checkpoint on disk
    max_gen: int = 0  # the highest generation with records on disk
    rewrite: Rewrite | None = None
    purge: list[tuple[int, Hashable]] = field(default_factory=lambda: [])  # (generation, key) to delete from disk
    transfers: list[Transfer] = field(default_factory=lambda: [])
    transfer_seq: int = 0
    incoming: dict[int, Incoming] = field(default_factory=lambda: {})  # by sender's raw id
    restarted: bool = False  # restored from a checkpoint and not yet asked the peers
    stalled: int = 0  # clock ticks at a gap without progress
    attempt: int = 0  # requests sent (the peer asked is the next in turn)
    installed: int = 0  # peers' states installed (since this incarnation started)
    records: list[tuple[Any, Any]] = field(default_factory=lambda: [])  # durable records of this tick
    applied: list[tuple[int, T, Res]] = field(default_factory=lambda: [])
    checkpoints: list[int] = field(default_factory=lambda: [])
    to_peers: list[Outgoing] = field(default_factory=lambda: [])

    def __repr__(self) -> str:
        return (
            f"Replica(next_slot={self.next_slot} held={len(self.held)} snapshot_slot={self.snapshot_slot} "
            f"suffix={len(self.suffix)} transfers={len(self.transfers)} rewrite={self.rewrite is not None})"
        )

    # IncrementalState: the checkpoint's records, written as they change.
    def durable_records(self) -> list[tuple[Any, Any]]:
        out, self.records = self.records, []
        return out

    def restore_records(self, records: dict[Any, Any]) -> None:
        slot, gen = records.get(META, (0, 0))
        mine: list[tuple[Hashable, Any]] = []
        for key, value in records.items():
            if key == META:
                continue
            _k, g, k = cast(tuple[str, int, Hashable], key)  # ("k", generation, key)
            self.max_gen = max(self.max_gen, g)
            if g == gen:
                mine.append((k, value))
            else:  # an unfinished rewrite or clean-up: delete it, a slice per tick
                self.purge.append((g, k))
        if self.init is not None:
            self.state = load(self.init, mine)
        self.gen = gen
        self.next_slot = self.snapshot_slot = self.suffix_start = slot
        self.restarted = True
        log.info("replica restarts from its checkpoint at slot %d (%d record(s))", slot, len(mine))


ReplicaInbox = tuple[tuple[list[tuple[int, Any]], list[tuple[MemberId[Any], PeerMessage]]], int]
"""One replica tick: committed entries (slot order), peer messages (by sender), clock events."""


def replica_step(cfg: ReplicaConfig, st: ReplicaState[S, T, Res], inbox: ReplicaInbox) -> ReplicaState[S, T, Res]:
    (entries, from_peers), ticks = inbox
    st.applied, st.checkpoints, st.to_peers = [], [], []
    start = st.next_slot
    installs = st.installed
    held = st.held
    for sender, msg in from_peers:
        if isinstance(msg, SnapshotRequest):
            _answer(st, sender, msg.next_slot)
        elif isinstance(msg, Snapshot):
            for slot, value in msg.suffix:
                if slot >= st.next_slot and slot not in held:
                    held[slot] = value
        else:
            _receive(cfg, st, sender, msg)
    for slot, value in entries:
        if slot >= st.next_slot and slot not in held:
            held[slot] = value
    _release(st)
    # Every tick's changed keys go to each copy in progress and to the next delta.
    if is_incremental(st.state):
        changed = list(cast(Any, st.state).changed_keys())
    else:
        changed = [WHOLE] if st.next_slot != start or st.installed != installs else []
    if changed:
        for t in st.transfers:
            t.copy.dirty.update(changed)
        if st.rewrite is not None:
            st.rewrite.copy.dirty.update(changed)
        elif cfg.durable:
            st.dirty.update(changed)
    _send_slices(cfg, st)
    if st.rewrite is not None:
        _continue_rewrite(cfg, st)
    elif st.next_slot - st.snapshot_slot >= cfg.checkpoint_every:
        _checkpoint(cfg, st)
    if st.purge:
        cut = max(0, len(st.purge) - cfg.chunk)
        st.records.extend((("k", g, k), DELETE) for g, k in st.purge[cut:])
        del st.purge[cut:]
    if st.restarted:  # a restarted replica asks at once: it may have missed commands while down
        st.restarted = False
        st.to_peers.append((EVERY_PEER, SnapshotRequest(st.next_slot)))
        log.info("replica asks its peers for the log from slot %d after a restart", st.next_slot)
    # Catch-up: a gap that does not fill for catch_up_after ticks of the clock (not counted while
    # a peer's state is arriving).
    receiving = False
    if ticks:
        for raw in list(st.incoming):
            inc = st.incoming[raw]
            inc.idle += 1
            if inc.idle > 4 * cfg.catch_up_after:  # the sender stopped (crashed?): forget it
                del st.incoming[raw]
            elif inc.idle <= cfg.catch_up_after:
                receiving = True
    if st.next_slot != start or not held or receiving:
        st.stalled = 0
    elif ticks:
        st.stalled += 1
        if st.stalled >= cfg.catch_up_after:
            st.stalled = 0
            st.to_peers.append((st.attempt, SnapshotRequest(st.next_slot)))
            st.attempt += 1
            log.info("replica asks a peer for the log from slot %d (%d slot(s) held above the gap)", st.next_slot, len(held))
    return st


def _answer(st: ReplicaState[Any, Any, Any], sender: MemberId[Any], wanted: int) -> None:
    if wanted >= st.next_slot:
        return  # nothing the requester lacks
    if wanted >= st.suffix_start:
        st.to_peers.append((sender, Snapshot(st.suffix_start, tuple(e for e in st.suffix if e[0] >= wanted))))
        return
    if any(t.to == sender for t in st.transfers):
        return  # already sending it the state
    st.transfer_seq += 1
    st.transfers.append(Transfer(sender, st.transfer_seq, FuzzyCopy(keys_of(st.state))))
    log.info("replica sends its state to %s, who asked for slot %d (checkpoint at %d)", sender, wanted, st.snapshot_slot)


def _send_slices(cfg: ReplicaConfig, st: ReplicaState[Any, Any, Any]) -> None:
    for t in st.transfers:
        records, deleted = t.copy.next_slice(st.state, cfg.chunk)
        if deleted is None:
            st.to_peers.append((t.to, SnapshotChunk(t.id, t.index, tuple(records))))
        else:
            st.to_peers.append((t.to, SnapshotChunk(t.id, t.index, tuple(records), st.next_slot, tuple(deleted))))
        t.index += 1
    st.transfers = [t for t in st.transfers if t.copy.pos < len(t.copy.keys)]


def _receive(cfg: ReplicaConfig, st: ReplicaState[Any, Any, Any], sender: MemberId[Any], msg: SnapshotChunk) -> None:
    raw = sender.raw_id
    inc = st.incoming.get(raw)
    if inc is None or inc.transfer != msg.transfer:
        if inc is None and any(i.idle <= cfg.catch_up_after for i in st.incoming.values()):
            return  # one peer's state at a time: another one is arriving
        inc = st.incoming[raw] = Incoming(msg.transfer)
    inc.chunks[msg.index] = msg
    inc.idle = 0
    if msg.slot >= 0:
        inc.last = msg.index
    if not inc.complete():
        return
    del st.incoming[raw]
    slot = inc.chunks[cast(int, inc.last)].slot
    if slot <= st.next_slot:
        return  # the replica got there meanwhile
    _install(cfg, st, slot, inc.records())


def _install(cfg: ReplicaConfig, st: ReplicaState[S, Any, Any], slot: int, records: dict[Hashable, Any]) -> None:
    assert st.init is not None, "a replica that installs a peer's state needs init"
    old = st.state
    stale: list[Hashable] = []
    if cfg.durable:
        # the checkpoint on disk (generation gen) is the old state's keys, and those deleted since
        stale = keys_of(old) + list(st.dirty)
        if st.rewrite is not None:  # an unfinished rewrite of an earlier install
            st.purge.extend((st.rewrite.gen, k) for k in st.rewrite.copy.keys[: st.rewrite.copy.pos])
    st.state = load(st.init, records.items())
    log.info("replica installs a peer's state at slot %d (was at %d; %d record(s))", slot, st.next_slot, len(records))
    st.next_slot = st.suffix_start = slot
    st.suffix = []
    st.installed += 1
    st.transfers = []  # they were copies of the old state: their requesters ask again
    for s in [s for s in st.held if s < slot]:
        del st.held[s]
    if cfg.durable:
        st.max_gen += 1
        st.rewrite = Rewrite(st.max_gen, FuzzyCopy(keys_of(st.state)))
        st.dirty = set(stale)  # deleted from the old generation when the rewrite ends
    else:
        st.snapshot_slot = slot
        st.checkpoints.append(slot)


def _continue_rewrite(cfg: ReplicaConfig, st: ReplicaState[Any, Any, Any]) -> None:
    rw = st.rewrite
    assert rw is not None
    records, deleted = rw.copy.next_slice(st.state, cfg.chunk)
    st.records.extend((("k", rw.gen, k), v) for k, v in records)
    if deleted is None:
        return
    st.records.extend((("k", rw.gen, k), DELETE) for k in deleted)
    st.records.append((META, (st.next_slot, rw.gen)))
    st.purge.extend((st.gen, k) for k in st.dirty)  # the previous generation, now superseded
    st.gen, st.rewrite, st.dirty = rw.gen, None, set()
    _checkpointed(st)


def _checkpoint(cfg: ReplicaConfig, st: ReplicaState[Any, Any, Any]) -> None:
    if cfg.durable:
        keys, st.dirty = st.dirty, set()
        records = dump(st.state, keys)
        present = {k for k, _ in records}
        gen = st.gen
        st.records.extend((("k", gen, k), v) for k, v in records)
        st.records.extend((("k", gen, k), DELETE) for k in keys if k not in present)
        st.records.append((META, (st.next_slot, gen)))
    _checkpointed(st)


def _checkpointed(st: ReplicaState[Any, Any, Any]) -> None:
    st.snapshot_slot = st.suffix_start = st.next_slot
    st.suffix = []
    st.checkpoints.append(st.next_slot)


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
    chunk: int = CHUNK,
) -> CheckpointedReplica[T, Res, PT]:
    """Apply ``committed`` (``paxos(...).committed``) in slot order to a state machine, with
    checkpoints every ``checkpoint_every`` slots and state transfer from peers (module docstring).

    ``apply(state, command) -> (state, result)`` must be deterministic, and its state picklable.
    A state that implements ``IncrementalCheckpoint`` (e.g. over a ``TrackedDict``) is checkpointed
    as deltas and transferred in slices of ``chunk`` keys, so no tick pickles all of it; any
    other state is pickled whole at each checkpoint and sent in one message (within the
    channels' 64 MiB frame limit). Commands committed twice (across a leader change) reach
    ``apply`` twice: make it skip repeats (e.g. by per-client sequence numbers); a set of every
    command seen would grow forever. ``clock`` counts the ticks a replica waits at a gap
    (``catch_up_after``) before asking a peer. ``durable="name"``: the checkpoint is durable state
    ``name`` and a restarted replica starts from it; needed with ``paxos(durable=...)``.

    Non-determinism: which entries a tick releases, and whether a replica catches up by applying
    entries or by installing a peer's state (``nondet_catch_up``): the state it reaches at
    each slot is the same either way, but a replica that installs a snapshot does not emit the
    results of the slots it skips.
    """
    site = caller_site()
    for name, value, low in (("checkpoint_every", checkpoint_every, 1), ("catch_up_after", catch_up_after, 1), ("chunk", chunk, 1)):
        if not isinstance(value, int) or value < low:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", f"checkpointed_replica needs {name} >= {low}, got {value!r}", site=site)
    cfg = ReplicaConfig(checkpoint_every, catch_up_after, chunk, durable is not None)
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
        return ReplicaState(apply, init(), init)

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
        if dest == EVERY_PEER:
            return [(p, msg) for p in peers]
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
