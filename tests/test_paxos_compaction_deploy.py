"""Checkpoints, compaction and state transfer of the replicated store, over real processes and
sockets (examples/redis_replicated.py:build_durable with a checkpoint every 50 slots).

1. Write enough keys for several compactions, SIGKILL a replica, keep writing, restart it: it
   starts from its own checkpoint, asks its peers, installs a peer's state and catches up.
   Then the two other replicas are killed, so every read is answered by the restarted one
   alone: it serves every acknowledged write. The acceptors' durable logs hold only the slots
   above their compaction point, which stops rising once only one replica is left.
2. Whole-cluster restart after several compactions: every acknowledged write is still there,
   recovered from the replicas' checkpoints plus a short suffix.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hydrologic.deploy import LocalDeployment, Localhost
from hydrologic.storage import LogStore

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "redis_replicated.py")
SIZES = {"Replicas": 3, "Acceptors": 3}
EVERY = 50

redis = pytest.importorskip("redis")


@pytest.fixture(autouse=True)
def _checkpoint_often(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HL_REDIS_CHECKPOINT_EVERY", str(EVERY))


def _deploy(data_dir: Path, logs: list[str]) -> LocalDeployment:
    return Localhost(log=logs.append, on_failure="continue", data_dir=data_dir).start(f"{EXAMPLE}:build_durable", SIZES)


def _client(port: int) -> Any:
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)


def _write(r: Any, keys: range, acked: dict[str, str]) -> None:
    for i in keys:
        if r.set(f"k{i}", f"v{i}") is True:
            acked[f"k{i}"] = f"v{i}"


def _live_records(data_dir: Path, instance: str) -> dict[str, dict[Any, Any]]:
    store = LogStore(data_dir / instance)
    try:
        return store.recover()
    finally:
        store.close()


def _wait_for(logs: list[str], text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [line for line in logs if text in line]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no log line with {text!r} within {timeout} s; last lines: {logs[-10:]}")


@pytest.mark.timeout(120)
def test_a_killed_replica_restarts_from_its_checkpoint_and_catches_up_by_state_transfer(tmp_path: Path) -> None:
    logs: list[str] = []
    acked: dict[str, str] = {}
    d = _deploy(tmp_path, logs)
    try:
        r = _client(d.port("redis").port)
        _write(r, range(0, 300), acked)  # six checkpoints
        d.kill("Replicas", 2)
        _write(r, range(300, 600), acked)  # compacted while replica 2 is down
        d.restart("Replicas", 2)
        _write(r, range(600, 650), acked)  # new slots: replica 2 sees the gap below them
        restarted = _wait_for(logs, "[Replicas/2] INFO hydrologic.std.paxos: replica restarts from its checkpoint", 5)
        installed = _wait_for(logs, "[Replicas/2] INFO hydrologic.std.paxos: replica installs a peer's state", 20)
        print(restarted, installed, sep="\n", file=sys.stderr)
        start_slot = int(restarted.split("checkpoint at slot ")[1].split()[0])
        snapshot_slot = int(installed.split("state at slot ")[1].split()[0])
        assert start_slot >= 250 and snapshot_slot > start_slot + EVERY, (start_slot, snapshot_slot)
        # Only replica 2 is left: it takes office and answers every read from its own copy.
        d.kill("Replicas", 0)
        d.kill("Replicas", 1)
        for key, value in acked.items():
            assert r.get(key) == value.encode(), key
        assert r.set("after", "transfer") is True and r.get("after") == b"transfer"
        r.close()
    finally:
        d.stop()
    assert len(acked) == 650
    for i in range(3):
        records = _live_records(tmp_path, f"Acceptors-{i}")["paxos.acceptor"]
        slots = [k for k in records if isinstance(k, int)]
        # Compacted up to the checkpoints two replicas held while two were up (the ~650 slots
        # of reads replica 2 served alone stay: one replica's checkpoint is not enough, f = 1).
        assert records["compacted"] >= 600 and min(slots) >= records["compacted"], (records["compacted"], min(slots))
    snapshot_slot_on_disk, _gen = _live_records(tmp_path, "Replicas-2")["replica"]["meta"]
    assert snapshot_slot_on_disk >= snapshot_slot


def _sigkill_all(d: LocalDeployment) -> None:
    pids = list(d.pids().values())
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    d.stop()


@pytest.mark.timeout(120)
def test_whole_cluster_restart_after_compactions_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    logs: list[str] = []
    acked: dict[str, str] = {}
    d = _deploy(tmp_path, logs)
    try:
        r = _client(d.port("redis").port)
        _write(r, range(0, 400), acked)
        assert r.incr("counter") == 1
        r.close()
    finally:
        _sigkill_all(d)
    started = time.monotonic()
    logs.clear()
    d = _deploy(tmp_path, logs)
    try:
        r = _client(d.port("redis").port)
        assert r.get("k0") == b"v0"
        print(f"whole-cluster restart to first answer: {time.monotonic() - started:.2f} s", file=sys.stderr)
        for key, value in acked.items():
            assert r.get(key) == value.encode(), key
        assert r.incr("counter") == 2
        r.close()
        # every replica started from its checkpoint, and the leader re-proposed only the suffix
        starts = [line for line in logs if "replica restarts from its checkpoint" in line]
        assert len(starts) == 3 and all(int(line.split("checkpoint at slot ")[1].split()[0]) >= 300 for line in starts), starts
        leads = [line for line in logs if "leads with" in line]
        assert leads and all(int(line.split("re-proposed ")[1].split()[0]) <= 2 * EVERY for line in leads), leads
    finally:
        d.stop()


BIG_KEYS = 10_000  # 1 KiB values: a 10 MB store
VALUE = b"x" * 1024


def _replica_log_bytes(data_dir: Path) -> list[int]:
    return [os.path.getsize(data_dir / f"Replicas-{i}" / "state.log") for i in range(3)]


def _settled(data_dir: Path) -> list[int]:
    """The replicas' log sizes once they stop changing (checkpoints are written after the reply)."""
    sizes = _replica_log_bytes(data_dir)
    for _ in range(100):
        time.sleep(0.2)
        now = _replica_log_bytes(data_dir)
        if now == sizes:
            return now
        sizes = now
    return sizes


@pytest.mark.timeout(120)
def test_a_large_store_checkpoints_deltas_without_a_leader_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 10 MB store (10,000 keys of 1 KiB) checkpointing every 200 slots: once the first
    checkpoint holds the store, each further one writes only what changed (a few hundred KiB on
    disk, not the store again), and the leader is never deposed while they are taken."""
    monkeypatch.setenv("HL_REDIS_CHECKPOINT_EVERY", "200")
    logs: list[str] = []
    d = _deploy(tmp_path, logs)
    try:
        r = _client(d.port("redis").port)
        for start in range(0, BIG_KEYS, 500):
            assert r.mset({f"big{i}": VALUE for i in range(start, start + 500)}) is True
        p = r.pipeline(transaction=False)
        for i in range(250):  # past the first checkpoint: it holds the whole store
            p.set(f"big{i}", VALUE)
        assert all(x is True for x in p.execute())
        before = _settled(tmp_path)
        leads = len([line for line in logs if "leads with" in line])
        assert all(b > BIG_KEYS * 1024 for b in before), before
        for _round in range(2):  # two more checkpoints: 400 SETs of 1 KiB
            p = r.pipeline(transaction=False)
            for i in range(200):
                p.set(f"big{i}", VALUE)
            assert all(x is True for x in p.execute())
        after = _settled(tmp_path)
        assert r.get(f"big{BIG_KEYS - 1}") == VALUE and r.dbsize() == BIG_KEYS
        r.close()
        grew = [a - b for a, b in zip(after, before)]
        print(f"replica logs {before} -> {after} bytes", file=sys.stderr)
        assert all(0 < g < 2_000_000 for g in grew), grew  # deltas: not 2 x 10 MB
        assert len([line for line in logs if "leads with" in line]) == leads, [l for l in logs if "leads with" in l]
    finally:
        d.stop()
