"""Durable replicated stores, one run: throughput, memory and disk, restart-to-serving, failover.

    python bench/bench_durable.py              # quick: 20,000 SETs per measure, 20,000 keys restarted
    python bench/bench_durable.py --full       # 1,000,000 SETs of 1 KiB, restart with 1,000,000 keys
    python bench/bench_durable.py --only redis,pysyncobj --n 50000
    python bench/bench_durable.py --cpu batch --n 80000 --pipelines 16   # CPU per SET, by process

Systems (each started by this script on loopback ports, data in a temporary directory):

* **hydrologic** ``examples/redis_replicated.py:build_durable`` (gateway + 3 replicas + 3
  acceptors, durable Paxos members, replicas checkpointing every 20,000 slots, or
  ``HL_REDIS_CHECKPOINT_EVERY``) run by ``python -m
  hydrologic run --data-dir DIR --fsync batch|always``; and ``:build``, the same store in memory
  (nothing durable), as a reference.
* **redis-server** (Debian ``redis-server``), one node, ``--appendonly yes`` with
  ``--appendfsync everysec`` and ``always`` (AOF rewrite at its defaults).
* **PySyncObj** 0.3 (Raft), 3 local processes replicating a dict, with ``journalFile=`` (and
  ``fullDumpFile=`` for its log compaction). Its file journal is an mmap'd file that is never
  msync'd while running: it survives a process crash, not a power loss.
* **etcd** (Debian ``etcd-server``/``etcd-client``: ``apt-get install -y etcd-server
  etcd-client``), 3 local members; throughput from ``etcdctl check perf --load=xl`` (its own
  load: 60 s, up to 1,000 clients, fsync on every commit).

Load: SETs of 1 KiB values over 10,000 keys. RESP servers are driven by ``redis-benchmark -t set
-d 1024 -r 10000 -c 50 -P p`` (p = 1 and 16); PySyncObj by a client in one node's process
keeping the same number of SETs in flight (c x p). Memory is the RSS summed over every process
of the system, disk the size of its data directory, after ``n`` SETs and again after ``2n``
(bounded state does not grow with the number of operations). Restart-to-serving: load ``keys``
distinct keys, SIGKILL every process, start again on the same data, time until the last key
reads back. Failover: kill the leader under a write loop, time until the next acknowledged write.
Prints one markdown table per measure, with ``uptime`` load.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, HERE)

from _results import cpu_seconds  # noqa: E402

PROGRAM = os.path.join(ROOT, "examples", "redis_replicated.py") + ":build"
PROGRAM_DURABLE = os.path.join(ROOT, "examples", "redis_replicated.py") + ":build_durable"
VALUE = b"v" * 1024
KEYSPACE = 10_000
NA_FSYNC = "n/a: needs --fsync"


# ---- helpers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def resp(*words: bytes) -> bytes:
    return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)


def command(port: int, *words: str, timeout: float = 2.0) -> bytes | None:
    """One RESP command; its raw reply, or None if nothing answered."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(resp(*(w.encode() for w in words)))
            data = b""
            while not data.endswith(b"\r\n") or (data.startswith(b"$") and data.count(b"\r\n") < 2 and not data.startswith(b"$-1")):
                chunk = s.recv(65536)
                if not chunk:
                    return None
                data += chunk
            return data
    except OSError:
        return None


def wait_reply(port: int, words: list[str], want: Callable[[bytes], bool], timeout: float) -> float | None:
    """Seconds until ``words`` gets a reply ``want`` accepts (None on timeout)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        r = command(port, *words)
        if r is not None and want(r):
            return time.monotonic() - t0
        time.sleep(0.02)
    return None


def wait_ping(port: int, timeout: float = 60.0) -> None:
    if wait_reply(port, ["PING"], lambda r: r.startswith(b"+PONG"), timeout) is None:
        raise RuntimeError(f"nothing answers PING on port {port}")


def redis_benchmark(port: int, n: int, c: int, p: int) -> float:
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(n), "-c", str(c), "-P", str(p), "-d", "1024", "-r", str(KEYSPACE), "-q"],
        capture_output=True, text=True, timeout=3600,
    ).stdout.replace("\r", "\n")
    m = re.findall(r"^SET: ([0-9.]+) requests per second", out, re.M)
    return float(m[-1]) if m else float("nan")


def load_keys(port: int, keys: int, batch: int = 500) -> None:
    """SET key:0 .. key:<keys-1> to 1 KiB values, pipelined in batches, every reply read."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        f = s.makefile("rb")
        for start in range(0, keys, batch):
            end = min(keys, start + batch)
            s.sendall(b"".join(resp(b"SET", b"key:%d" % i, VALUE) for i in range(start, end)))
            for _ in range(start, end):
                line = f.readline()
                if not line.startswith(b"+OK"):
                    raise RuntimeError(f"SET answered {line!r}")


def children(root: int) -> list[int]:
    """``root`` and every process below it (from /proc)."""
    parent: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += [c for c, pp in parent.items() if pp == p]
    return out


def rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def du_mib(path: str) -> float:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                pass
    return total / 2**20


def row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def fmt(x: float | str | None, unit: str = "") -> str:
    if isinstance(x, str):
        return x
    if x is None or x != x:
        return "–"
    return f"{x:,.0f}{unit}" if x >= 100 else f"{x:,.2f}{unit}"


# ---- systems: start on a data directory, report pids; each a context manager ----------------------


class System:
    name = ""
    note = ""

    def start(self, data: str) -> None: ...
    def pids(self) -> list[int]: ...
    def crash(self) -> None: ...
    def stop(self) -> None: ...
    port = 0


class RedisAOF(System):
    def __init__(self, fsync: str) -> None:
        self.fsync = fsync
        self.name = f"redis-server AOF `appendfsync {fsync}`"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, data: str) -> None:
        if not self.port:
            self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
             "--appendfsync", self.fsync, "--dir", data, "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_ping(self.port)

    def pids(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []

    def crash(self) -> None:
        if self.proc:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.crash()


def cli_has_fsync() -> bool:
    out = subprocess.run([sys.executable, "-m", "hydrologic", "run", "--help"], capture_output=True, text=True, cwd=ROOT)
    return "--fsync" in out.stdout


class Hydrologic(System):
    """The replicated store under ``python -m hydrologic run`` (with ``--data-dir``/``--fsync``
    when ``fsync`` is given, in memory otherwise)."""

    def __init__(self, fsync: str | None) -> None:
        self.fsync = fsync
        self.name = f"hydrologic `--fsync {fsync}`" if fsync else "hydrologic (in memory)"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, data: str) -> None:
        if not self.port:
            self.port = free_port()
        argv = [sys.executable, "-m", "hydrologic", "run", PROGRAM_DURABLE if self.fsync else PROGRAM, "--cluster", "Replicas=3", "--cluster", "Acceptors=3",
                "--log-level", "WARNING"]
        if self.fsync:
            argv += ["--data-dir", data, "--fsync", self.fsync]
        env = dict(os.environ, HL_REDIS_PORT=str(self.port), PYTHONPATH=os.path.join(ROOT, "src"))
        self.proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_ping(self.port, 120)
        # the first command waits for a leader
        if wait_reply(self.port, ["SET", "warm", "up"], lambda r: r.startswith(b"+OK"), 60) is None:
            raise RuntimeError("the store does not acknowledge a SET")

    def pids(self) -> list[int]:
        return children(self.proc.pid) if self.proc else []

    def crash(self) -> None:
        if self.proc:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.crash()


# ---- PySyncObj (not RESP: its own client in node 0's process) ------------------------------------


def _pso_node(me: str, others: list[str], data: str, jobs: Any, results: Any) -> None:
    from pysyncobj import SyncObj, SyncObjConf, replicated

    class Store(SyncObj):  # type: ignore[misc]
        def __init__(self) -> None:
            tag = me.replace(":", "_")
            conf = SyncObjConf(dynamicMembershipChange=False, journalFile=os.path.join(data, f"{tag}.journal"),
                               fullDumpFile=os.path.join(data, f"{tag}.dump"))
            super().__init__(me, others, conf)
            self.data: dict[str, bytes] = {}

        @replicated  # type: ignore[misc]
        def set(self, key: str, value: bytes) -> None:
            self.data[key] = value

    t_start = time.monotonic()
    store = Store()
    while True:
        job = jobs.get()
        if job[0] == "leader":
            while store._getLeader() is None:  # noqa: SLF001
                time.sleep(0.01)
            results.put(str(getattr(store._getLeader(), "address", store._getLeader())))  # noqa: SLF001
        elif job[0] == "ready":  # until a leader is known and `key` has its value here
            key = job[1]
            while store._getLeader() is None or (key and key not in store.data):  # noqa: SLF001
                time.sleep(0.01)
            results.put(time.monotonic() - t_start)
        elif job[0] == "sets":  # n SETs, `window` in flight, over `keys` keys (or distinct when keys == 0)
            _, n, window, keys = job
            slots = threading.Semaphore(window)
            done = threading.Event()
            count = [0]
            lock = threading.Lock()

            def on_commit(res: Any, err: Any) -> None:
                slots.release()
                with lock:
                    count[0] += 1
                    if count[0] == n:
                        done.set()

            t0 = time.perf_counter()
            for i in range(n):
                slots.acquire()
                store.set(f"key:{i % keys if keys else i}", VALUE, callback=on_commit)
            done.wait(3600)
            results.put(n / (time.perf_counter() - t0))
        elif job[0] == "failover":  # a write loop; reports ack times
            _, seconds = job
            acks: list[float] = []
            t_end = time.monotonic() + seconds
            i = 0
            while time.monotonic() < t_end:
                ev = threading.Event()
                store.set(f"fo:{i % 100}", VALUE, callback=lambda r, e, ev=ev: ev.set() if e == 0 else None)
                if ev.wait(1.0):
                    acks.append(time.time())
                i += 1
            results.put(acks)
            return


class PySyncObj(System):
    name = "PySyncObj (journal file)"

    def __init__(self) -> None:
        self.ctx = mp.get_context("spawn")
        self.procs: list[Any] = []
        self.addrs: list[str] = []

    def start(self, data: str) -> None:
        if not self.addrs:
            self.addrs = [f"127.0.0.1:{free_port()}" for _ in range(3)]
        self.queues = [self.ctx.Queue() for _ in self.addrs]
        self.jobs, self.results = self.queues[0], self.ctx.Queue()
        self.procs = []
        for i, a in enumerate(self.addrs):
            others = [x for x in self.addrs if x != a]
            p = self.ctx.Process(target=_pso_node, args=(a, others, data, self.queues[i], self.results), daemon=True)
            p.start()
            self.procs.append(p)

    def failover(self, seconds: float = 6.0) -> float | None:
        """A write loop on a follower; SIGKILL the leader; seconds until the next commit."""
        self.jobs.put(("leader",))
        leader = self.addrs.index(str(self.results.get(timeout=120)))
        writer = next(i for i in range(3) if i != leader)
        self.queues[writer].put(("failover", seconds))
        time.sleep(1.5)
        self.procs[leader].kill()
        killed = time.time()
        acks = self.results.get(timeout=seconds + 60)
        after = [a for a in acks if a > killed]
        return (after[0] - killed) if after else None

    def ready(self, key: str = "", timeout: float = 600) -> float:
        self.jobs.put(("ready", key))
        return float(self.results.get(timeout=timeout))

    def sets(self, n: int, window: int, keys: int = KEYSPACE) -> float:
        self.jobs.put(("sets", n, window, keys))
        return float(self.results.get(timeout=3600))

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.is_alive()]

    def crash(self) -> None:
        for p in self.procs:
            if p.is_alive():
                p.kill()
            p.join(5)

    stop = crash


# ---- etcd ----------------------------------------------------------------------------------------


class Etcd(System):
    name = "etcd 3 members"

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []
        self.client: list[int] = []
        self.peer: list[int] = []

    def endpoints(self, skip: int | None = None) -> str:
        return ",".join(f"http://127.0.0.1:{p}" for i, p in enumerate(self.client) if i != skip)

    def start(self, data: str) -> None:
        if not self.client:
            self.client = [free_port() for _ in range(3)]
            self.peer = [free_port() for _ in range(3)]
        cluster = ",".join(f"m{i}=http://127.0.0.1:{p}" for i, p in enumerate(self.peer))
        self.procs = [self._start_member(i, data, cluster) for i in range(3)]
        if self.wait_serving(120) is None:
            raise RuntimeError("etcd does not acknowledge a put")

    def _start_member(self, i: int, data: str, cluster: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["etcd", "--name", f"m{i}", "--data-dir", os.path.join(data, f"m{i}"),
             "--listen-client-urls", f"http://127.0.0.1:{self.client[i]}", "--advertise-client-urls", f"http://127.0.0.1:{self.client[i]}",
             "--listen-peer-urls", f"http://127.0.0.1:{self.peer[i]}", "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer[i]}",
             "--initial-cluster", cluster, "--initial-cluster-state", "new", "--log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )

    def ctl(self, *args: str, endpoints: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["etcdctl", "--endpoints", endpoints or self.endpoints(), *args], capture_output=True, text=True,
                              timeout=timeout, env=dict(os.environ, ETCDCTL_API="3"))

    def wait_serving(self, timeout: float, key: str = "warm", endpoints: str | None = None) -> float | None:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.ctl("put", key, "x", endpoints=endpoints, timeout=10).returncode == 0:
                return time.monotonic() - t0
            time.sleep(0.02)
        return None

    def leader(self) -> int | None:
        out = self.ctl("endpoint", "status", "-w", "fields").stdout
        leader = re.search(r'"Leader" : (\d+)', out)
        ids = re.findall(r'"MemberID" : (\d+)', out)
        eps = re.findall(r'"Endpoint" : "http://127.0.0.1:(\d+)"', out)
        if leader is None:
            return None
        for mid, ep in zip(ids, eps):
            if mid == leader.group(1):
                return self.client.index(int(ep))
        return None

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.poll() is None]

    def crash(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


@contextmanager
def running(system: System) -> Iterator[str]:
    data = tempfile.mkdtemp(prefix="hl-bench-durable-")
    try:
        system.start(data)
        yield data
    finally:
        system.stop()
        shutil.rmtree(data, ignore_errors=True)


# ---- measures ------------------------------------------------------------------------------------


def measure_resp(system: System, n: int, mem_n: int, c: int, pipelines: list[int], keys: int) -> dict[str, Any]:
    """Throughput at each pipeline depth (n SETs each), memory/disk after mem_n / 2 and mem_n more
    SETs, restart with ``keys`` distinct keys."""
    out: dict[str, Any] = {}
    with running(system) as data:
        for p in pipelines:
            redis_benchmark(system.port, min(n, 2000), c, p)  # warm-up
            out[f"P{p}"] = redis_benchmark(system.port, n, c, p)
        redis_benchmark(system.port, mem_n // 2, c, 16)
        out["mem1"], out["disk1"] = rss_mib(system.pids()), du_mib(data)
        redis_benchmark(system.port, mem_n - mem_n // 2, c, 16)
        out["mem2"], out["disk2"] = rss_mib(system.pids()), du_mib(data)
        if isinstance(system, Hydrologic) and system.fsync is None:
            return out  # in memory: nothing to restart from
        load_keys(system.port, keys)
        system.crash()
        t0 = time.monotonic()
        system.start(data)
        last = f"key:{keys - 1}"
        took = wait_reply(system.port, ["GET", last], lambda r: r.startswith(b"$1024"), 600)
        out["restart"] = None if took is None else time.monotonic() - t0
    return out


def measure_pysyncobj(n: int, mem_n: int, c: int, pipelines: list[int], keys: int) -> dict[str, Any]:
    s = PySyncObj()
    out: dict[str, Any] = {}
    with running(s) as data:
        s.ready()
        for p in pipelines:
            out[f"P{p}"] = s.sets(n, c * p)
        s.sets(mem_n // 2, c * 16)
        out["mem1"], out["disk1"] = rss_mib(s.pids()), du_mib(data)
        s.sets(mem_n - mem_n // 2, c * 16)
        out["mem2"], out["disk2"] = rss_mib(s.pids()), du_mib(data)
        s.sets(keys, c * 16, keys=0)
        s.crash()
        t0 = time.monotonic()
        s.start(data)
        try:
            s.ready(f"key:{keys - 1}", timeout=120)
            out["restart"] = time.monotonic() - t0
        except queue.Empty:
            # Seen with PySyncObj 0.3.17: "raftCommitIndex exceeds journal end after loading dump,
            # likely due to unsynced journal entries lost on crash; clamping to journal end".
            out["restart"] = "the last acknowledged key never read back (lost)"
            return out
        out["failover"] = s.failover()
    return out


def measure_etcd(keys: int) -> dict[str, Any]:
    e = Etcd()
    out: dict[str, Any] = {}
    with running(e) as data:
        perf = e.ctl("check", "perf", "--load=xl", timeout=600).stdout
        m = re.search(r"(\d+) writes/s", perf)
        out["perf"] = float(m.group(1)) if m else float("nan")
        out["perf_text"] = " ".join(l.strip() for l in perf.splitlines() if l.startswith(("PASS", "FAIL")))
        out["mem1"], out["disk1"] = rss_mib(e.pids()), du_mib(data)
        # failover: kill the leader, time until a put through the others is acknowledged
        leader = e.leader()
        if leader is not None:
            e.procs[leader].kill()
            e.procs[leader].wait()
            out["failover"] = e.wait_serving(60, "after-failover", endpoints=e.endpoints(skip=leader))
        # restart-to-serving on the data check perf left: SIGKILL every member, start them again
        e.crash()
        t0 = time.monotonic()
        e.start(data)
        out["restart"] = time.monotonic() - t0
    return out


def measure_failover_hydrologic(seconds: float = 6.0) -> dict[str, Any]:
    """The in-memory store on Localhost: a writer loop; kill the leader replica; time from the
    kill to the next acknowledged SET (and the longest gap between two acknowledgements)."""
    import redis

    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from jepsen_support import Cluster, Config

    cluster = Cluster(Config(mode="limited"))
    try:
        r = redis.Redis(host="127.0.0.1", port=cluster.port, socket_timeout=30)
        r.set("warm", "up")
        acks: list[float] = []
        stop = threading.Event()

        def writer() -> None:
            w = redis.Redis(host="127.0.0.1", port=cluster.port, socket_timeout=30)
            i = 0
            while not stop.is_set():
                w.set(f"fo:{i % 100}", VALUE)
                acks.append(time.monotonic())
                i += 1

        th = threading.Thread(target=writer, daemon=True)
        th.start()
        time.sleep(1.0)
        leader = None
        while leader is None:
            leader = cluster.leader(set())
        pid = cluster.pids()[leader]
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        time.sleep(seconds)
        stop.set()
        th.join(30)
        after = [a for a in acks if a > killed]
        gaps = [b - a for a, b in zip(acks, acks[1:])]
        return {"failover": (after[0] - killed) if after else None, "max_gap": max(gaps) if gaps else None, "leader": leader}
    finally:
        cluster.stop()


def _roles(data: str, pids: list[int]) -> dict[str, int]:
    """Each process's location (its data directory's name: Replicas-0, Acceptors-1, Gateway)."""
    out: dict[str, int] = {}
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith(data + os.sep):
                    out[target[len(data) + 1 :].split(os.sep)[0]] = pid
                    break
        except OSError:
            pass
    return out


def measure_cpu(fsync: str, n: int, c: int, p: int, repeats: int) -> None:
    """CPU seconds per SET of every process of the durable store, by role (Linux ``/proc``),
    over ``repeats`` runs of ``n`` SETs at ``-P p``: what the machine, not one process, pays."""
    s = Hydrologic(fsync)
    with running(s) as data:
        roles = _roles(data, s.pids())
        names = sorted(roles)
        print(row(["run", "SET/s", "cores busy", "µs CPU per SET, all processes", *names]))
        print(row(["---"] + ["---:"] * (3 + len(names))))
        for i in range(repeats):
            before = {k: cpu_seconds(pid) for k, pid in roles.items()}
            t0 = time.monotonic()
            redis_benchmark(s.port, n, c, p)
            dt = time.monotonic() - t0
            used = {k: cpu_seconds(pid) - before[k] for k, pid in roles.items()}
            total = sum(used.values())
            print(row([i + 1, fmt(n / dt), f"{total / dt:.2f}", fmt(1e6 * total / n), *[fmt(1e6 * used[k] / n) for k in names]]), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="memory after 1,000,000 SETs, restart with 1,000,000 keys")
    ap.add_argument("--n", type=int, default=20_000, help="SETs per throughput measure (default 20,000)")
    ap.add_argument("--mem-n", type=int, help="SETs before the memory/disk measure (default 20,000; 1,000,000 with --full)")
    ap.add_argument("--keys", type=int, help="distinct keys loaded before the restart (default 20,000; 1,000,000 with --full)")
    ap.add_argument("--c", type=int, default=50, help="clients (default 50)")
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--only", default="hydrologic,redis,pysyncobj,etcd", help="comma-separated systems")
    ap.add_argument("--modes", default="memory,batch,always,never",
                    help="hydrologic rows to run: memory (the in-memory store, and the failover measure), batch, always, "
                         "never (durable files without fsync: the durability of PySyncObj's journal)")
    ap.add_argument("--cpu", metavar="FSYNC", help="instead: CPU per SET of each process of the store run with --fsync FSYNC "
                    "(--n SETs at -P of the last --pipelines, --repeats times)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.cpu:
        print(f"bench_durable --cpu {args.cpu}: {args.n} SETs of 1 KiB at -c {args.c} -P {args.pipelines.split(',')[-1]}; "
              f"HL_REDIS_CHECKPOINT_EVERY={os.environ.get('HL_REDIS_CHECKPOINT_EVERY', 'default')}; load {load()}", flush=True)
        measure_cpu(args.cpu, args.n, args.c, int(args.pipelines.split(",")[-1]), args.repeats)
        return
    n = args.n
    mem_n = args.mem_n or (1_000_000 if args.full else 20_000)
    keys = args.keys or (1_000_000 if args.full else 20_000)
    pipelines = [int(x) for x in args.pipelines.split(",")]
    only = set(args.only.split(","))
    print(f"bench_durable: {n} SETs of 1 KiB over {KEYSPACE} keys per throughput measure, memory after {mem_n}, -c {args.c}, pipelines {pipelines}, restart with {keys} keys; load {load()}", flush=True)
    results: dict[str, dict[str, Any]] = {}
    systems: list[System] = []
    if "hydrologic" in only:
        modes = set(args.modes.split(","))
        if "memory" in modes:
            systems.append(Hydrologic(None))
        fsync = cli_has_fsync()
        for mode in ("batch", "always", "never"):
            if mode not in modes:
                continue
            if fsync:
                systems.append(Hydrologic(mode))
            else:
                results[f"hydrologic `--fsync {mode}`"] = {"na": NA_FSYNC}
    if "redis" in only:
        systems += [RedisAOF("everysec"), RedisAOF("always")]
    for s in systems:
        print(f"  {s.name} ... (load {load()})", flush=True)
        try:
            results[s.name] = measure_resp(s, n, mem_n, args.c, pipelines, keys)
        except Exception as e:
            results[s.name] = {"na": f"failed: {e}"}
        results[s.name]["load"] = load()
    if "pysyncobj" in only:
        print(f"  PySyncObj ... (load {load()})", flush=True)
        try:
            results[PySyncObj.name] = measure_pysyncobj(n, mem_n, args.c, pipelines, keys)
        except Exception as e:
            results[PySyncObj.name] = {"na": f"failed: {e!r}"}
        results[PySyncObj.name]["load"] = load()
    if "hydrologic" in only and "memory" in set(args.modes.split(",")):
        print(f"  hydrologic failover ... (load {load()})", flush=True)
        try:
            results.setdefault("hydrologic (in memory)", {}).update(measure_failover_hydrologic())
        except Exception as e:
            print(f"  failover failed: {e!r}")
    if "etcd" in only:
        if shutil.which("etcd") and shutil.which("etcdctl"):
            print(f"  etcd ... (load {load()})", flush=True)
            try:
                results[Etcd.name] = measure_etcd(keys)
            except Exception as e:
                results[Etcd.name] = {"na": f"failed: {e!r}"}
            results[Etcd.name]["load"] = load()
        else:
            results[Etcd.name] = {"na": "n/a: apt-get install -y etcd-server etcd-client"}

    print()
    print(row(["system", *[f"SET/s `-P {p}`" for p in pipelines], f"RSS / disk MiB after {mem_n // 2:,} more SETs", f"after {mem_n:,}",
               f"restart-to-serving, {keys:,} keys", "failover", "load during"]))
    print(row(["---"] + ["---:"] * (len(pipelines) + 5)))
    for name, r in results.items():
        if "na" in r and len(r) <= 2:
            print(row([name, r["na"]] + [""] * (len(pipelines) + 4)))
            continue
        tp = [fmt(r.get(f"P{p}")) for p in pipelines]
        if "perf" in r:
            tp = [f"{fmt(r['perf'])} (`check perf --load=xl`)"] + [""] * (len(pipelines) - 1)
        mem1 = f"{fmt(r.get('mem1'))} / {fmt(r.get('disk1'))}" if "mem1" in r else "–"
        mem2 = f"{fmt(r.get('mem2'))} / {fmt(r.get('disk2'))}" if "mem2" in r else "–"
        fo = fmt(r.get("failover"), " s") if "failover" in r else "–"
        if r.get("max_gap") is not None:
            fo += f" (longest gap {r['max_gap']:.2f} s)"
        print(row([name, *tp, mem1, mem2, fmt(r.get("restart"), " s") if "restart" in r else "–", fo, r.get("load", "")]))
    if any("perf_text" in r for r in results.values()):
        print()
        for name, r in results.items():
            if r.get("perf_text"):
                print(f"{name}: {r['perf_text']}")


if __name__ == "__main__":
    main()
