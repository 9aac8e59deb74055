"""Incremental checkpoints and chunked state transfer of ``checkpointed_replica`` (the rule, step by
step, with a state machine that implements ``IncrementalCheckpoint``).

A checkpoint writes only the keys changed since the previous one, plus the slot, in one atomic
write; restoring the store's records (first copy + deltas) gives the state at the checkpoint; a
torn delta is dropped by the log's checksums and the replica restarts from the previous one. A
peer's state travels in slices of ``chunk`` keys read while the sender keeps applying commands,
and what the requester installs is the sender's state at the last slice's slot.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable, Iterable

import pytest

import hydrologic as hl
from hydrologic.std.paxos import IncrementalCheckpoint, SnapshotChunk, SnapshotRequest, TrackedDict
from hydrologic.storage.log import LogStore

ck = importlib.import_module("hydrologic.std.paxos.checkpoints")


@dataclass(eq=False)
class KV:
    """The tests' state machine: a dict of counters, checkpointed key by key."""

    data: TrackedDict[str, int] = field(default_factory=lambda: TrackedDict())

    def all_keys(self) -> list[Hashable]:
        return list(self.data)

    def changed_keys(self) -> Iterable[Hashable]:
        return self.data.drain()

    def dump_keys(self, keys: Iterable[Hashable]) -> list[tuple[Hashable, Any]]:
        d = self.data
        return [(k, d[k]) for k in keys if k in d]  # type: ignore[index]

    def load_keys(self, items: Iterable[tuple[Hashable, Any]]) -> None:
        self.data.update(items)


def kv_apply(st: KV, cmd: tuple[str, str, int]) -> tuple[KV, int]:
    op, key, n = cmd
    if op == "del":
        st.data.pop(key, None)
        return st, 0
    st.data[key] = st.data.get(key, 0) + n if op == "add" else n
    return st, st.data[key]


def replica(every: int = 10, chunk: int = 4, after: int = 2) -> tuple[Any, Any]:
    return ck.ReplicaConfig(every, after, chunk), ck.ReplicaState(kv_apply, KV(), KV)


def step(cfg: Any, st: Any, entries: list[tuple[int, Any]] = [], peers: list[Any] = [], ticks: int = 0) -> Any:  # noqa: B006
    return ck.replica_step(cfg, st, ((entries, peers), ticks))


class Disk:
    """A replica's durable records in a real log (what the runtime does with a durable scan)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.store = LogStore(path, fsync="always")

    def write(self, st: Any) -> int:
        records = st.durable_records()
        if records:
            self.store.write([("replica", k, v) for k, v in records])
        return len(records)

    def restart(self) -> Any:
        self.store.close()
        self.store = LogStore(self.path, fsync="always")
        fresh = ck.ReplicaState(kv_apply, KV(), KV)
        fresh.restore_records(self.store.recover().get("replica", {}))
        return fresh


def test_the_state_machine_is_an_incremental_checkpoint_and_a_plain_one_is_not() -> None:
    assert isinstance(KV(), IncrementalCheckpoint) and not isinstance((), IncrementalCheckpoint)
    d: TrackedDict[str, int] = TrackedDict({"a": 1})
    assert d.drain() == set()
    d["b"] = 2
    d.pop("a")
    d.update(c=3)
    d.setdefault("b", 9)
    assert d.drain() == {"a", "b", "c"} and d == {"b": 2, "c": 3}
    d.clear()
    assert d.drain() == {"b", "c"}


def test_a_checkpoint_writes_only_the_changed_keys_and_restore_is_first_copy_plus_deltas(tmp_path: Path) -> None:
    cfg, st = replica(every=10)
    disk = Disk(tmp_path)
    slot = 0
    for i in range(200):  # 200 keys: the first checkpoint writes each key it has seen
        st = step(cfg, st, [(slot, ("set", f"k{i % 100}", i))])
        slot += 1
        disk.write(st)
    assert st.snapshot_slot == 200 and len(st.state.data) == 100
    # 10 more commands touching 3 keys (one deleted): the checkpoint is those 3 records and the slot
    cmds = [("add", "k1", 1), ("del", "k2", 0), ("set", "new", 5)] + [("add", "k1", 1)] * 7
    for c in cmds:
        st = step(cfg, st, [(slot, c)])
        slot += 1
        written = disk.write(st)
    assert st.checkpoints == [210] and written == 4
    expected = dict(st.state.data)
    restored = disk.restart()
    assert dict(restored.state.data) == expected and restored.next_slot == restored.snapshot_slot == 210
    assert "k2" not in restored.state.data and restored.state.data["k1"] == 101 + 8


def test_a_torn_delta_is_detected_and_the_replica_restarts_from_the_previous_checkpoint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg, st = replica(every=5)
    disk = Disk(tmp_path)
    for slot in range(5):
        st = step(cfg, st, [(slot, ("set", f"k{slot}", slot))])
        disk.write(st)
    before = dict(st.state.data)
    size = os.path.getsize(tmp_path / "state.log")
    for slot in range(5, 10):
        st = step(cfg, st, [(slot, ("set", f"k{slot - 5}", 100 + slot))])
        disk.write(st)
    assert st.checkpoints == [10] and os.path.getsize(tmp_path / "state.log") > size + 20
    disk.store.close()
    with open(tmp_path / "state.log", "r+b") as f:  # a crash in the middle of writing the delta
        f.truncate(size + 20)
    with caplog.at_level(logging.WARNING):
        restored = disk.restart()
    assert "truncating" in caplog.text
    assert dict(restored.state.data) == before and restored.next_slot == 5  # not a mix of the two


def test_a_peer_sends_its_state_in_chunks_while_it_keeps_applying_and_the_requester_gets_the_state_at_the_last_slot() -> None:
    cfg, sender = replica(every=10, chunk=7)
    slot = 0
    for i in range(50):
        sender = step(cfg, sender, [(slot, ("set", f"k{i:02}", i))])
        slot += 1
    assert sender.suffix_start == 50
    _, requester = replica(every=10, chunk=7)
    sender = step(cfg, sender, peers=[(hl.MemberId(1), SnapshotRequest(0))])
    chunks: list[SnapshotChunk] = []
    final: dict[str, int] = {}
    i = 0
    while True:
        (to, msg), = [m for m in sender.to_peers if isinstance(m[1], SnapshotChunk)]
        assert to == hl.MemberId(1)
        chunks.append(msg)
        if msg.slot >= 0:
            final = dict(sender.state.data)
            assert msg.slot == sender.next_slot
            break
        assert len(msg.records) <= 7  # a bounded slice per tick
        # meanwhile: change a key already sent, one not yet sent, delete one, add one
        cmds = [("add", "k00", 1), ("add", f"k{min(49, 10 + 7 * i)}", 1), ("del", f"k{i:02}", 0), ("set", f"new{i}", i)]
        sender = step(cfg, sender, [(slot + j, c) for j, c in enumerate(cmds)])
        slot += len(cmds)
        i += 1
    assert len(chunks) == 8  # 50 keys in slices of 7
    # delivered out of order, the chunks still make the same state
    for msg in reversed(chunks):
        requester = step(cfg, requester, peers=[(hl.MemberId(0), msg)])
    assert requester.installed == 1 and dict(requester.state.data) == final and requester.next_slot == chunks[-1].slot


def test_after_installing_a_peers_state_the_replica_writes_it_a_slice_per_tick_and_a_crash_midway_keeps_the_old_checkpoint(
    tmp_path: Path,
) -> None:
    cfg, sender = replica(every=10, chunk=6)
    for slot in range(30):
        sender = step(cfg, sender, [(slot, ("set", f"k{slot}", slot))])
    _, st = replica(every=10, chunk=6)
    disk = Disk(tmp_path)
    for slot in range(10):  # its own checkpoint at 10 (generation 0), then it falls behind
        st = step(cfg, st, [(slot, ("set", f"old{slot}", slot))])
        disk.write(st)
    sender = step(cfg, sender, peers=[(hl.MemberId(1), SnapshotRequest(10))])
    msgs = []
    while sender.transfers or not msgs:
        msgs += [m for _, m in sender.to_peers]
        sender = step(cfg, sender)
    msgs += [m for _, m in sender.to_peers]
    for m in msgs:
        st = step(cfg, st, peers=[(hl.MemberId(0), m)])
        disk.write(st)
    assert st.installed == 1 and st.next_slot == 30 and st.rewrite is not None  # the first slice is written
    st = step(cfg, st)
    assert 0 < len(st.records) <= 6  # a slice per tick
    crashed = disk.restart()  # a crash midway: the checkpoint on disk is still the old one
    assert crashed.next_slot == 10 and dict(crashed.state.data) == {f"old{s}": s for s in range(10)}
    assert crashed.purge  # the unfinished generation's records are deleted, a slice per tick
    # without the crash, the rewrite ends, the checkpoint moves to the installed state, and the
    # old generation is deleted
    for _ in range(10):
        st = step(cfg, st)
        disk.write(st)
    assert st.rewrite is None and not st.purge and st.snapshot_slot == 30 and st.gen == 1
    restored = disk.restart()
    assert dict(restored.state.data) == {f"k{s}": s for s in range(30)} and restored.next_slot == 30
    assert set(disk.store.recover()["replica"]) == {"meta"} | {("k", 1, f"k{s}") for s in range(30)}


def test_the_replicated_stores_state_machine_reports_what_each_command_changed() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "examples"))
    import redis_replicated as rr

    st = rr.new_state()
    assert isinstance(st, IncrementalCheckpoint)
    st.changed_keys()
    st, _ = rr.apply_tagged(st, (7, 0, (b"SET", b"a", b"1")))
    st, _ = rr.apply_tagged(st, (7, 2, (b"SET", b"b", b"2")))  # held until seq 1
    assert set(st.changed_keys()) == {("s", b"a"), ("n", 7), ("h", 7)}
    copy = rr.new_state()
    copy.load_keys(st.dump_keys(st.all_keys()))
    assert copy.store == st.store and copy.next_seq == st.next_seq and copy.held == st.held == {7: {2: (b"SET", b"b", b"2")}}
