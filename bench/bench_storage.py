"""Durable-state backends under a Paxos acceptor's write pattern: which one backs ``durable=``.

Each *tick* writes what an acceptor writes per tick of a busy log: one promised-ballot record
(16 bytes) and ``--slots`` accepted slots of ``--value-bytes`` each, and deletes the slots that
fell below a checkpoint moving ``--window`` slots behind the newest (a compacted log). Backends:

  * ``log``: ``hydrologic.storage.LogStore``, the append-only checksummed log with compaction;
  * ``sqlite-full`` / ``sqlite-normal``: SQLite in WAL mode, ``synchronous=FULL`` (the WAL is
    synced at every commit) and ``NORMAL`` (synced only at checkpoints: a power loss may lose the
    last commits, so it is *not* durable per commit; listed as the trade-off);
  * ``lmdb``: LMDB (``lmdb`` on PyPI), one write transaction per commit, ``sync=True``.

Fsync modes: ``always`` commits and syncs each tick before the next (the latency of one tick);
``batch`` is group commit: a producer submits ticks back to back, at most ``--inflight`` waiting,
and a writer thread commits everything queued with one sync (``LogStore``'s own writer thread;
the same loop around SQLite and LMDB transactions), so latency is submit to durable.

Reported per run: records written per second (puts + deletes), syncing commits per second (one
fsync for the log and SQLite FULL; LMDB syncs data and meta, two fdatasyncs per commit), p50/p99
latency, and bytes on disk after the run (the directory, WAL included, after closing).

    python bench/bench_storage.py [--ticks 2000] [--slots 8] [--value-bytes 512] [--window 1000]
"""

from __future__ import annotations

import argparse
import os
import pickle
import queue
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from hydrologic.storage import DELETE, LogStore  # noqa: E402

Records = list[tuple[str, Any, Any]]


@dataclass
class Result:
    backend: str
    mode: str
    records: int
    seconds: float
    syncs: int
    latencies: list[float]
    disk: int

    def row(self) -> str:
        lat = sorted(self.latencies)
        p50 = statistics.median(lat) * 1000
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        return (
            f"| {self.backend} | {self.mode} | {self.records / self.seconds:,.0f} | {self.syncs / self.seconds:,.0f} "
            f"| {p50:.2f} | {p99:.2f} | {self.disk / 1e6:.2f} |"
        )


def workload(ticks: int, slots: int, value_bytes: int, window: int) -> list[Records]:
    blob = os.urandom(value_bytes)
    out: list[Records] = []
    slot = 0
    for t in range(ticks):
        recs: Records = [("promised", None, (t, 1))]
        for _ in range(slots):
            recs.append(("log", slot, (t, blob)))
            if slot - window >= 0:
                recs.append(("log", slot - window, DELETE))
            slot += 1
        out.append(recs)
    return out


def disk_usage(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


# ---- backends: open, commit a list of ticks (one transaction, one sync), close ---------------


class Backend:
    name = ""
    syncs_per_commit = 1

    def __init__(self, path: str) -> None:
        self.path = path

    def commit(self, batch: list[Records], sync: bool) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SQLite(Backend):
    def __init__(self, path: str, synchronous: str) -> None:
        super().__init__(path)
        self.name = f"sqlite-{synchronous.lower()}"
        self.db = sqlite3.connect(os.path.join(path, "state.db"), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.execute("CREATE TABLE kv (name TEXT, k BLOB, v BLOB, PRIMARY KEY (name, k)) WITHOUT ROWID")
        self.syncs_per_commit = 1 if synchronous == "FULL" else 0

    def commit(self, batch: list[Records], sync: bool) -> None:
        cur = self.db.cursor()
        cur.execute("BEGIN")
        for recs in batch:
            for name, key, value in recs:
                k = pickle.dumps(key)
                if value is DELETE:
                    cur.execute("DELETE FROM kv WHERE name = ? AND k = ?", (name, k))
                else:
                    cur.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", (name, k, pickle.dumps(value, protocol=5)))
        cur.execute("COMMIT")

    def close(self) -> None:
        self.db.close()


class LMDB(Backend):
    name = "lmdb"
    syncs_per_commit = 1  # counted as one syncing commit (two fdatasyncs inside)

    def __init__(self, path: str) -> None:
        super().__init__(path)
        import lmdb

        self.env = lmdb.open(path, map_size=1 << 31, sync=True, metasync=True)

    def commit(self, batch: list[Records], sync: bool) -> None:
        with self.env.begin(write=True) as txn:
            for recs in batch:
                for name, key, value in recs:
                    k = pickle.dumps((name, key))
                    if value is DELETE:
                        txn.delete(k)
                    else:
                        txn.put(k, pickle.dumps(value, protocol=5))

    def close(self) -> None:
        self.env.close()


def run_txn_backend(make: Callable[[str], Backend], mode: str, ticks: list[Records], inflight: int) -> Result:
    path = tempfile.mkdtemp(prefix="hl-bench-")
    try:
        b = make(path)
        lat: list[float] = []
        commits = 0
        t0 = time.perf_counter()
        if mode == "always":
            for recs in ticks:
                s = time.perf_counter()
                b.commit([recs], True)
                commits += 1
                lat.append(time.perf_counter() - s)
        else:
            q: queue.Queue[tuple[float, Records] | None] = queue.Queue()
            slots = threading.Semaphore(inflight)
            done = threading.Event()

            def writer() -> None:
                nonlocal commits
                while True:
                    first = q.get()
                    if first is None:
                        done.set()
                        return
                    batch = [first]
                    stop = False
                    while True:
                        try:
                            nxt = q.get_nowait()
                        except queue.Empty:
                            break
                        if nxt is None:
                            stop = True
                            break
                        batch.append(nxt)
                    b.commit([r for _, r in batch], True)
                    commits += 1
                    now = time.perf_counter()
                    for s, _ in batch:
                        lat.append(now - s)
                        slots.release()
                    if stop:
                        done.set()
                        return

            th = threading.Thread(target=writer, daemon=True)
            th.start()
            for recs in ticks:
                slots.acquire()
                q.put((time.perf_counter(), recs))
            q.put(None)
            done.wait()
        secs = time.perf_counter() - t0
        b.close()
        n = sum(len(r) for r in ticks)
        return Result(b.name, mode, n, secs, commits * b.syncs_per_commit, lat, disk_usage(path))
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run_log(mode: str, ticks: list[Records], inflight: int) -> Result:
    path = tempfile.mkdtemp(prefix="hl-bench-")
    try:
        store = LogStore(path, fsync=mode)
        lat: list[float] = []
        submitted: dict[int, float] = {}
        slots = threading.Semaphore(inflight)
        lock = threading.Lock()
        reported = [0]

        def durable(seq: int) -> None:
            now = time.perf_counter()
            with lock:
                for s in range(reported[0] + 1, seq + 1):
                    lat.append(now - submitted.pop(s))
                    if mode == "batch":
                        slots.release()
                reported[0] = seq

        store.on_durable = durable
        t0 = time.perf_counter()
        for recs in ticks:
            if mode == "batch":
                slots.acquire()
            with lock:
                submitted[store.seq + 1] = time.perf_counter()
            store.write(recs)
        store.sync()
        secs = time.perf_counter() - t0
        syncs = store.fsyncs
        store.close()
        n = sum(len(r) for r in ticks)
        return Result("log", mode, n, secs, syncs, lat, disk_usage(path))
    finally:
        shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--ticks", type=int, default=2000)
    ap.add_argument("--slots", type=int, default=8, help="accepted slots written per tick")
    ap.add_argument("--value-bytes", type=int, default=512)
    ap.add_argument("--window", type=int, default=1000, help="live slots kept behind the newest")
    ap.add_argument("--inflight", type=int, default=256, help="ticks waiting for durability at most (batch)")
    ap.add_argument("--backends", default="log,sqlite-full,sqlite-normal,lmdb")
    args = ap.parse_args()
    ticks = workload(args.ticks, args.slots, args.value_bytes, args.window)
    wanted = args.backends.split(",")
    makers: dict[str, Callable[[str], Backend]] = {
        "sqlite-full": lambda p: SQLite(p, "FULL"),
        "sqlite-normal": lambda p: SQLite(p, "NORMAL"),
        "lmdb": LMDB,
    }
    try:
        load = os.getloadavg()
    except OSError:  # pragma: no cover
        load = (0.0, 0.0, 0.0)
    print(
        f"acceptor pattern: {args.ticks} ticks x (1 ballot + {args.slots} slots of {args.value_bytes} B + deletes "
        f"behind a {args.window}-slot window); load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}; SQLite {sqlite3.sqlite_version}"
    )
    print()
    print("| backend | fsync | records/s | syncing commits/s | p50 ms | p99 ms | disk MB |")
    print("|---|---|---|---|---|---|---|")
    for mode in ("always", "batch"):
        for name in wanted:
            if name == "log":
                r = run_log(mode, ticks, args.inflight)
            else:
                r = run_txn_backend(makers[name], mode, ticks, args.inflight)
            print(r.row(), flush=True)


if __name__ == "__main__":
    main()
