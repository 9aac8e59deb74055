"""Jepsen-style testing of the Paxos-replicated Redis store (examples/redis_replicated.py) over
real processes: clients record a history while a nemesis kills, restarts and pauses members;
then every key is read, and the history is checked for lost writes and for linearizability.

Used by tests/test_jepsen.py (a short run in CI) and tools/jepsen.py (a long run, one command).

* **Clients**: ``clients`` threads, each with one RESP connection (redis-py's ``Connection``, no
  hidden retries), one operation at a time: ``SET r<i> <unique value>`` / ``GET r<i>`` on the
  register keys, ``INCR c<i>`` / ``GET c<i>`` on the counter keys. Each operation is recorded
  with its invocation and completion times (``time.monotonic``) and its outcome: ``ok`` (a
  reply), ``fail`` (certainly not applied: the connection could not be opened, or an error
  reply) or ``info`` (sent, but no reply within ``op_timeout`` or the connection broke: it may
  take effect later or never).
* **Nemesis** (a seeded random schedule, one fault at a time, every ``gap`` seconds):

  - ``limited`` mode, what the store survives today: SIGKILL the gateway (the supervisor
    restarts it) any number of times; SIGKILL one replica and one acceptor, for good (f = 1);
    SIGSTOP/SIGCONT any live member, the leader included, for ``pause`` seconds.
  - ``full`` mode, for when every role keeps its state on disk and restarts: SIGKILL any member
    of any role (the leader repeatedly, and acceptors 0 and 1 at least once each, so a majority
    has restarted at some point), waiting for the supervisor to restart it before the next
    kill; pauses as above; and at the end SIGKILL every process and start the whole cluster
    again on the same data directories and port.
* **End**: resume everything, wait for the store to serve again, stop the clients, read every
  key once more (recorded like any read), then check: no acknowledged write lost (each key's
  final value is its last acknowledged SET's or one that may follow it; each counter counts every
  acknowledged INCR, at most the attempted ones, and no INCR reply repeats), and the whole
  history is linearizable (hydrologic.testing.linearizability, per key).

On failure, ``Outcome.report()`` gives the seed, the nemesis log and the offending key's
sub-history.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import random
import signal
import socket
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Hashable, Literal

from hydrologic.testing.linearizability import COUNTER, REGISTER, Model, Op, Result, check

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "redis_replicated.py")
SIZES = {"Replicas": 3, "Acceptors": 3}

Mode = Literal["limited", "full"]

MODES: tuple[Mode, ...] = ("limited", "full")
"""``limited``: the faults the store survives today. ``full``: every role restarted repeatedly and a
whole-cluster kill and restart; it needs durable state and restartable Paxos members."""


@dataclass
class Config:
    mode: Mode = "limited"
    seconds: float = 20.0  # of client load under the nemesis
    seed: int = 1
    clients: int = 6
    registers: int = 6
    counters: int = 2
    op_timeout: float = 3.0
    gap: tuple[float, float] = (0.8, 2.0)  # seconds between two faults
    pause: tuple[float, float] = (0.3, 2.0)  # how long a SIGSTOP lasts
    recovery_timeout: float = 40.0  # for the store to serve again after the nemesis
    restart_timeout: float = 15.0  # full mode: for the supervisor to restart a killed member
    data_dir: str | None = None  # full mode: the members' data directories (a temporary one if None)
    log: Callable[[str], None] | None = None  # progress lines (None: quiet)
    history_path: str | None = None  # write the history here (JSON lines) before checking it


def model_of(key: Hashable) -> Model[Any]:
    return COUNTER if str(key).startswith("c") else REGISTER


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


# ---- the cluster ---------------------------------------------------------------------------------


class Cluster:
    """The 7 processes of the store on Localhost, supervised (a killed process is restarted unless
    the program forbids it), serving RESP on a fixed port so that a whole-cluster restart serves
    where the clients already connect."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.port = free_port()
        self.logs: list[str] = []
        self.data_dir = cfg.data_dir
        if cfg.mode == "full" and self.data_dir is None:
            self.data_dir = tempfile.mkdtemp(prefix="hl-jepsen-")
        self.d: Any = None
        # Checkpoints every 5,000 slots (the store's default is 20,000), so that a run checkpoints
        # and compacts many times between kills, which is what the checker must see survive. Set
        # until ``stop``: a member the supervisor restarts rebuilds the program in its own
        # environment, which must build the same graph.
        self._every = os.environ.get("HL_REDIS_CHECKPOINT_EVERY")
        os.environ["HL_REDIS_CHECKPOINT_EVERY"] = self._every or "5000"
        self.start()

    @staticmethod
    def durable_options(data_dir: str | None) -> dict[str, Any]:
        """Keyword arguments that give the members durable state, if this version of Localhost
        accepts them (``data_dir``, ``fsync``); empty otherwise."""
        from hydrologic.deploy import Localhost

        params = inspect.signature(Localhost.__init__).parameters
        out: dict[str, Any] = {}
        if data_dir is not None and "data_dir" in params:
            out["data_dir"] = data_dir
            if "fsync" in params:
                out["fsync"] = "always"
        return out

    def start(self) -> None:
        from hydrologic.deploy import Localhost
        from hydrologic.deploy.supervision import RestartPolicy

        os.environ["HL_REDIS_PORT"] = str(self.port)  # inherited by the children
        try:
            target = Localhost(
                log=self.logs.append,
                on_failure=RestartPolicy(max_restarts=10_000, within=60.0, backoff=0.05, max_backoff=0.5, then="continue"),
                **self.durable_options(self.data_dir),
            )
            # full mode restarts every role: the store with durable Paxos members and gateway
            self.d = target.start(f"{EXAMPLE}:{'build_durable' if self.cfg.mode == 'full' else 'build'}", SIZES)
        finally:
            del os.environ["HL_REDIS_PORT"]

    def pids(self) -> dict[str, int]:
        return dict(self.d.pids())

    def labels(self, role: str) -> list[str]:
        return [label for label in self.pids() if label.split("/")[0] == role]

    def leader(self, skip: set[str]) -> str | None:
        """The replica whose traffic to the acceptors grows (only a leader, or a candidate, sends
        them anything), among the live replicas not in ``skip``; None if none is seen."""

        def sent() -> dict[str, int]:
            out: dict[str, int] = {}
            for label in self.labels("Replicas"):
                if label in skip or not _alive(self.pids()[label]):
                    continue
                try:
                    links = self.d.stats("Replicas", int(label.split("/")[1]), timeout=2.0)["links"]
                except Exception:
                    continue
                out[label] = sum(int(v["sent"]) for k, v in links.items() if k.startswith("Acceptors/"))
            return out

        a = sent()
        time.sleep(0.3)
        b = sent()
        grew = {k: b[k] - a[k] for k in b if k in a}
        if not grew or max(grew.values()) <= 0:
            return None
        return max(grew, key=lambda k: grew[k])

    def kill_all(self) -> list[int]:
        pids = [pid for pid in self.pids().values() if _alive(pid)]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pids

    def stop(self) -> None:
        if self.d is not None:
            for pid in self.pids().values():  # nothing may stay stopped
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            self.d.stop()
        if self._every is None:
            os.environ.pop("HL_REDIS_CHECKPOINT_EVERY", None)
        else:
            os.environ["HL_REDIS_CHECKPOINT_EVERY"] = self._every


# ---- clients -------------------------------------------------------------------------------------


class Client(threading.Thread):
    """One client: one connection, one operation at a time, every operation recorded."""

    def __init__(self, n: int, port: int, cfg: Config, rng: random.Random, stop: threading.Event, t0: float) -> None:
        super().__init__(name=f"jepsen-client-{n}", daemon=True)
        self.n, self.port, self.cfg, self.rng, self.stop, self.t0 = n, port, cfg, rng, stop, t0
        self.history: list[Op] = []
        self.errors: list[str] = []
        self.seq = 0
        self.conn: Any = None

    def _connect(self) -> bool:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        if self.conn is not None:
            return True
        with warnings.catch_warnings():  # lib_name: deprecated in redis-py 7+, the only way in 5
            warnings.simplefilter("ignore", DeprecationWarning)
            # no CLIENT SETINFO on connect (it would go through the log), no hidden retries
            conn = redis.Connection(
                host="127.0.0.1",
                port=self.port,
                socket_timeout=self.cfg.op_timeout,
                socket_connect_timeout=1.0,
                retry=Retry(NoBackoff(), 0),
                lib_name=None,
                lib_version=None,
            )
        try:
            conn.connect()
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False
        self.conn = conn
        return True

    def _drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.disconnect()
            except Exception:
                pass
        self.conn = None

    def do(self, key: str, f: str, value: str | None = None) -> Op:
        """Run one operation and record it (``fail`` without recording when no connection)."""
        import redis

        t = lambda: time.monotonic() - self.t0  # noqa: E731
        words: list[str] = {"set": ["SET", key, value or ""], "get": ["GET", key], "incr": ["INCR", key]}[f]
        invoke = t()
        if not self._connect():
            return Op(key, f, value, None, invoke, t(), "fail", self.n)
        try:
            self.conn.send_command(*words)
            reply = self.conn.read_response()
        except redis.ResponseError as e:
            op = Op(key, f, value, None, invoke, t(), "fail", self.n)
            self.errors.append(f"{op}: error reply {e}")
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            self._drop()
            op = Op(key, f, value, None, invoke, None, "info", self.n)
        else:
            op = Op(key, f, value, self._decode(key, f, reply), invoke, t(), "ok", self.n)
        self.history.append(op)
        return op

    @staticmethod
    def _decode(key: str, f: str, reply: Any) -> Any:
        if f == "set":
            return None if reply in (b"OK", "OK", True) else ("unexpected", reply)
        if reply is None:
            return None
        if key.startswith("c"):
            return int(reply)
        return reply.decode() if isinstance(reply, bytes) else reply

    def run(self) -> None:
        cfg = self.cfg
        while not self.stop.is_set():
            if self.rng.random() < cfg.registers / (cfg.registers + cfg.counters):
                key = f"r{self.rng.randrange(cfg.registers)}"
                f = "set" if self.rng.random() < 0.5 else "get"
            else:
                key = f"c{self.rng.randrange(cfg.counters)}"
                f = "incr" if self.rng.random() < 0.6 else "get"
            value = f"{self.n}-{self.seq}" if f == "set" else None
            self.seq += 1
            op = self.do(key, f, value)
            if op.outcome != "ok":
                time.sleep(0.05)
        self._drop()


# ---- the nemesis ---------------------------------------------------------------------------------


@dataclass
class Event:
    at: float  # seconds since the start of the run
    what: str  # kill | restarted | not-restarted | pause | resume | kill-all | restart-all | note
    target: str = ""
    pid: int = 0
    detail: str = ""

    def __str__(self) -> str:
        pid = f" (pid {self.pid})" if self.pid else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.at:8.3f}  {self.what:<13} {self.target}{pid}{detail}"


class Nemesis(threading.Thread):
    def __init__(self, cluster: Cluster, cfg: Config, rng: random.Random, stop: threading.Event, t0: float) -> None:
        super().__init__(name="jepsen-nemesis", daemon=True)
        self.cluster, self.cfg, self.rng, self.stop, self.t0 = cluster, cfg, rng, stop, t0
        self.log: list[Event] = []
        self.dead: set[str] = set()  # killed for good (limited mode)
        self.paused: set[str] = set()
        self.kills: dict[str, int] = {}
        self.pauses = 0
        self.whole_restarts = 0
        self.killed_acceptors: set[str] = set()
        self.leader_kills = 0
        self.error: str | None = None

    def note(self, what: str, target: str = "", pid: int = 0, detail: str = "") -> None:
        e = Event(round(time.monotonic() - self.t0, 3), what, target, pid, detail)
        self.log.append(e)
        if self.cfg.log:
            self.cfg.log(f"[nemesis] {e}")

    def _wait(self, seconds: float) -> bool:
        return self.stop.wait(seconds)

    def live(self, role: str | None = None) -> list[str]:
        return [
            l for l in self.cluster.pids() if (role is None or l.split("/")[0] == role) and l not in self.dead and l not in self.paused
        ]

    def kill(self, label: str, why: str = "") -> None:
        pid = self.cluster.pids()[label]
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        role = label.split("/")[0]
        self.kills[role] = self.kills.get(role, 0) + 1
        self.note("kill", label, pid, why)
        if self.cfg.mode == "limited" and role != "Gateway":
            self.dead.add(label)
            return
        # wait for the supervisor to start the next incarnation (and for it to be up)
        deadline = time.monotonic() + self.cfg.restart_timeout
        while time.monotonic() < deadline:
            new = self.cluster.pids()[label]
            if new != pid and _alive(new):
                self.note("restarted", label, new)
                return
            time.sleep(0.05)
        self.note("not-restarted", label, pid, f"no new incarnation within {self.cfg.restart_timeout:g} s")
        self.dead.add(label)
        if self.cfg.mode == "full":
            self.error = f"{label} was not restarted within {self.cfg.restart_timeout:g} s after its SIGKILL"
            self.stop.set()

    def pause(self, label: str, why: str = "") -> None:
        pid = self.cluster.pids()[label]
        seconds = round(self.rng.uniform(*self.cfg.pause), 2)
        try:
            os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:
            return
        self.paused.add(label)
        self.pauses += 1
        self.note("pause", label, pid, f"{seconds} s{why}")
        try:
            self.stop.wait(seconds)
        finally:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.paused.discard(label)
            self.note("resume", label, pid)

    def plan(self) -> list[str]:
        """The kinds of faults, in order (seeded); targets are picked when each fault happens."""
        n = max(4, int(self.cfg.seconds / sum(self.cfg.gap) * 2))
        if self.cfg.mode == "limited":
            kinds = [self.rng.choice(["kill-gateway", "pause", "pause", "pause-leader", "kill-gateway"]) for _ in range(n)]
            # the one replica and the one acceptor killed for good, a gateway kill and a pause of the
            # leader, early (within the first quarter)
            for kind in ("kill-replica", "kill-acceptor", "kill-gateway", "pause-leader"):
                kinds.insert(self.rng.randrange(max(1, len(kinds) // 4)), kind)
            return kinds
        kinds = [
            self.rng.choice(["kill-gateway", "kill-leader", "kill-replica", "kill-acceptor", "pause", "pause-leader"]) for _ in range(n)
        ]
        # the leader repeatedly, and acceptors 0 and 1 (a majority) at least once each, early on
        for kind in ("kill-leader", "kill-leader", "kill-acceptor:0", "kill-acceptor:1"):
            kinds.insert(self.rng.randrange(max(1, len(kinds) // 3)), kind)
        return kinds

    def fault(self, kind: str) -> None:
        if kind == "kill-gateway":
            if "Gateway" in self.live():
                self.kill("Gateway")
        elif kind in ("kill-leader", "pause-leader"):
            leader = self.cluster.leader(self.dead | self.paused)
            if leader is None:
                self.note("note", "", 0, f"{kind}: no leader seen")
                return
            if kind == "kill-leader":
                self.leader_kills += 1
                self.kill(leader, "the leader")
            else:
                self.pause(leader, ", the leader")
        elif kind.startswith("kill-acceptor") or kind == "kill-replica":
            role = "Replicas" if kind == "kill-replica" else "Acceptors"
            if kind.startswith("kill-acceptor:"):
                label = f"Acceptors/{kind.split(':')[1]}"
                candidates = [label] if label in self.live() else []
            else:
                candidates = self.live(role)
            if self.cfg.mode == "limited" and any(l.startswith(role + "/") for l in self.dead):
                return  # f = 1: one of each role, for good
            if candidates:
                label = self.rng.choice(candidates)
                if role == "Acceptors":
                    self.killed_acceptors.add(label)
                self.kill(label)
        elif kind == "pause":
            targets = self.live()
            if targets:
                self.pause(self.rng.choice(sorted(targets)))

    def run(self) -> None:
        try:
            for kind in self.plan():
                if self._wait(self.rng.uniform(*self.cfg.gap)):
                    break
                self.fault(kind)
                if self.stop.is_set():
                    break
        except Exception as e:  # reported with the result
            self.error = f"nemesis crashed: {e!r}"

    def whole_cluster_restart(self) -> None:
        pids = self.cluster.kill_all()
        self.note("kill-all", "every process", 0, f"pids {sorted(pids)}")
        self.cluster.d.stop()
        self.whole_restarts += 1
        started = time.monotonic()
        self.cluster.start()
        self.dead.clear()
        self.note("restart-all", "every process", 0, f"started in {time.monotonic() - started:.2f} s, data in {self.cluster.data_dir}")


# ---- a run ---------------------------------------------------------------------------------------


@dataclass
class Outcome:
    seed: int
    mode: str
    seconds: float
    ops: dict[str, int]
    kills: dict[str, int]
    leader_kills: int
    acceptors_killed: list[str]
    pauses: int
    whole_restarts: int
    linearizable: bool | None
    lost: list[str]
    problems: list[str]
    nemesis_log: list[str]
    check_seconds: float
    recovery_seconds: float | None
    load: tuple[float, float, float]
    explanation: str = ""
    sub_histories: dict[str, list[str]] = field(default_factory=lambda: {})
    history: list[Op] = field(default_factory=lambda: [], repr=False)

    @property
    def ok(self) -> bool:
        return bool(self.linearizable) and not self.lost and not self.problems

    def summary(self) -> dict[str, Any]:
        d = asdict(self)
        del d["history"]
        d["ok"] = self.ok
        return d

    def report(self) -> str:
        lines = [
            f"Jepsen run, mode {self.mode}, seed {self.seed}: {'PASS' if self.ok else 'FAIL'}",
            f"  {self.seconds:.1f} s of load; operations {self.ops}; kills {self.kills} (leader {self.leader_kills}, "
            f"acceptors {self.acceptors_killed}); pauses {self.pauses}; whole-cluster restarts {self.whole_restarts}",
            f"  linearizable: {self.linearizable} (checked in {self.check_seconds:.2f} s); recovery after the nemesis: "
            + (f"{self.recovery_seconds:.2f} s" if self.recovery_seconds is not None else "never"),
            f"  load average {self.load[0]:.2f} {self.load[1]:.2f} {self.load[2]:.2f}",
        ]
        if not self.ok:
            lines.append(f"  re-run: python tools/jepsen.py --mode {self.mode} --seed {self.seed} --seconds {self.seconds:g}")
            for p in self.problems:
                lines.append(f"  problem: {p}")
            for l in self.lost:
                lines.append(f"  lost: {l}")
            if self.explanation:
                lines.append(self.explanation)
            lines.append("  nemesis log:")
            lines += [f"    {e}" for e in self.nemesis_log]
            for key, sub in self.sub_histories.items():
                lines.append(f"  history of key {key!r} ({len(sub)} operations shown):")
                lines += [f"    {s}" for s in sub]
        return "\n".join(lines)


def lost_writes(history: list[Op], final: dict[str, Any]) -> list[str]:
    """Acknowledged writes the final reads do not account for.

    A register's final value must be its last acknowledged SET's, or the value of a SET (acknowledged
    or unknown) that may have taken effect after it (it was not complete before that SET began).
    A counter's final value counts every acknowledged INCR and at most the attempted ones, and no
    two acknowledged INCRs returned the same number."""
    out: list[str] = []
    by_key: dict[Hashable, list[Op]] = {}
    for op in history:
        if op.outcome != "fail":
            by_key.setdefault(op.key, []).append(op)
    for key, v in sorted(final.items()):
        ops = by_key.get(key, [])
        if key.startswith("c"):
            acked = [op for op in ops if op.f == "incr" and op.outcome == "ok"]
            unknown = [op for op in ops if op.f == "incr" and op.outcome == "info"]
            n = v or 0
            if n < len(acked):
                out.append(f"{key}: {len(acked)} INCRs acknowledged, the counter reads {v!r}")
            if n > len(acked) + len(unknown):
                out.append(f"{key}: reads {v!r}, more than the {len(acked) + len(unknown)} INCRs sent")
            seen = Counter(op.output for op in acked)
            twice = sorted(r for r, k in seen.items() if k > 1)
            if twice:
                out.append(f"{key}: INCR replies repeated (an increment applied twice?): {twice[:10]}")
            continue
        sets = [op for op in ops if op.f == "set"]
        # the latest instant a write of the final value may have taken effect
        latest = max((math.inf if w.complete is None else w.complete for w in sets if w.value == v), default=-math.inf)
        for s in sets:
            if s.outcome != "ok" or s.value == v:
                continue
            if latest < s.invoke:
                out.append(f"{key}: acknowledged {s} is neither the final value {v!r} nor followed by the SET that wrote it")
                break
    return out


def _sub_history(history: list[Op], key: Hashable, around: Op | None, width: int = 60) -> list[str]:
    ops = sorted((op for op in history if op.key == key), key=lambda op: op.invoke)
    if len(ops) > 2 * width:  # around the operation the checker stopped at, or the last ones
        i = len(ops) if around is None else next((j for j, op in enumerate(ops) if op.id == around.id), len(ops) // 2)
        ops = ops[max(0, i - width) : i + width]
    return [str(op) for op in ops]


def run(cfg: Config) -> Outcome:
    """One Jepsen run: deploy, load + nemesis for ``cfg.seconds``, heal, final reads, check."""
    rng = random.Random(cfg.seed)
    say = cfg.log or (lambda _: None)
    cluster = Cluster(cfg)
    t0 = time.monotonic()
    stop_clients = threading.Event()
    stop_nemesis = threading.Event()
    clients = [Client(n, cluster.port, cfg, random.Random(rng.random()), stop_clients, t0) for n in range(cfg.clients)]
    nemesis = Nemesis(cluster, cfg, random.Random(rng.random()), stop_nemesis, t0)
    problems: list[str] = []
    recovery: float | None = None
    final_ops: list[Op] = []
    try:
        say(f"[jepsen] {cfg.mode} mode, seed {cfg.seed}, {cfg.clients} clients, {cfg.seconds:g} s, store on port {cluster.port}")
        probe = Client(-1, cluster.port, cfg, random.Random(0), threading.Event(), t0)
        if not _wait_serving(probe, 30.0):
            problems.append("the store did not serve within 30 s of starting")
        for c in clients:
            c.start()
        nemesis.start()
        stop_clients.wait(cfg.seconds)
        stop_nemesis.set()
        nemesis.join(timeout=cfg.pause[1] + cfg.restart_timeout + 30)
        if nemesis.is_alive():
            problems.append("the nemesis did not stop")
        if nemesis.error:
            problems.append(nemesis.error)
        if cfg.mode == "full" and not nemesis.error:
            nemesis.whole_cluster_restart()
        # heal: nothing paused; wait until the store serves again
        for label in list(nemesis.paused):
            try:
                os.kill(cluster.pids()[label], signal.SIGCONT)
            except ProcessLookupError:
                pass
        healed = time.monotonic()
        if _wait_serving(probe, cfg.recovery_timeout):
            recovery = time.monotonic() - healed
            nemesis.note("note", "", 0, f"serving again {recovery:.2f} s after the nemesis stopped")
        else:
            problems.append(f"the store did not serve again within {cfg.recovery_timeout:g} s after the nemesis stopped")
        time.sleep(0.5)  # let the clients complete a few operations on the healed store
        stop_clients.set()
        for c in clients:
            c.join(timeout=cfg.op_timeout + 5)
            if c.is_alive():
                problems.append(f"client {c.n} is stuck")
            problems.extend(c.errors[:5])
        # the final read of every key, recorded like any read
        final: dict[str, Any] = {}
        if recovery is not None:
            reader = Client(cfg.clients, cluster.port, cfg, random.Random(0), threading.Event(), t0)
            keys = [f"r{i}" for i in range(cfg.registers)] + [f"c{i}" for i in range(cfg.counters)]
            for key in keys:
                deadline = time.monotonic() + cfg.recovery_timeout
                while time.monotonic() < deadline:
                    op = reader.do(key, "get")
                    if op.outcome == "ok":
                        final[key] = op.output
                        break
                    time.sleep(0.1)
                else:
                    problems.append(f"the final read of {key} got no reply")
            reader._drop()
            final_ops = reader.history
    finally:
        stop_nemesis.set()
        stop_clients.set()
        cluster.stop()
    history = [op for c in clients for op in c.history] + final_ops
    if cfg.history_path:  # before checking: a slow or crashed check leaves the history behind
        write_history(history, cfg.history_path)
    return judge(cfg, history, final, nemesis, problems, recovery)


def judge(cfg: Config, history: list[Op], final: dict[str, Any], nemesis: Nemesis | None, problems: list[str], recovery: float | None) -> Outcome:
    """Check a recorded ``history`` and the ``final`` reads: lost writes and linearizability."""
    history = [Op(op.key, op.f, op.value, op.output, op.invoke, op.complete, op.outcome, op.process, i) for i, op in enumerate(history)]
    lost = lost_writes(history, final) if final else []
    result: Result = check(history, model_of, max_seconds=120)
    subs: dict[str, list[str]] = {}
    for f in result.failures:
        subs[str(f.key)] = _sub_history(history, f.key, f.stuck)
    for line in lost:
        key = line.split(":")[0]
        subs.setdefault(key, _sub_history(history, key, None))
    if result.undecided:
        problems.append(f"the linearizability search gave up on keys {result.undecided}")
    counts: dict[str, int] = {}
    for op in history:
        counts[op.outcome] = counts.get(op.outcome, 0) + 1
        counts[op.f] = counts.get(op.f, 0) + 1
    return Outcome(
        seed=cfg.seed,
        mode=cfg.mode,
        seconds=cfg.seconds,
        ops=counts,
        kills=dict(nemesis.kills) if nemesis else {},
        leader_kills=nemesis.leader_kills if nemesis else 0,
        acceptors_killed=sorted(nemesis.killed_acceptors) if nemesis else [],
        pauses=nemesis.pauses if nemesis else 0,
        whole_restarts=nemesis.whole_restarts if nemesis else 0,
        linearizable=result.valid,
        lost=lost,
        problems=problems,
        nemesis_log=[str(e) for e in nemesis.log] if nemesis else [],
        check_seconds=result.seconds,
        recovery_seconds=recovery,
        load=os.getloadavg(),
        explanation="" if result.valid else result.explain(),
        sub_histories=subs,
        history=history,
    )


def _wait_serving(probe: Client, timeout: float) -> bool:
    """Until a SET through the store is acknowledged (the probe's ops are not in the history)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        op = probe.do("probe", "set", "x")
        if op.outcome == "ok":
            probe._drop()
            return True
        time.sleep(0.1)
    probe._drop()
    return False


def write_history(history: list[Op], path: str) -> None:
    with open(path, "w") as f:
        for i, op in enumerate(history):
            row = {k: getattr(op, k) for k in ("process", "key", "f", "value", "output", "invoke", "complete", "outcome")}
            f.write(json.dumps(dict(row, id=i), default=str) + "\n")


def read_history(path: str) -> tuple[list[Op], dict[str, Any]]:
    """A history written by ``write_history``, and the final reads in it (the reads of the last
    client, the one ``run`` reads every key with at the end)."""
    history: list[Op] = []
    with open(path) as f:
        for line in f:
            d = json.loads(line)
            history.append(Op(d["key"], d["f"], d["value"], d["output"], d["invoke"], d["complete"], d["outcome"], d["process"], d["id"]))
    reader = max((op.process for op in history), default=None, key=lambda p: p if isinstance(p, int) else -1)
    final = {str(op.key): op.output for op in history if op.process == reader and op.f == "get" and op.outcome == "ok"}
    return history, final


def write_summary(outcome: Outcome, path: str) -> None:
    with open(path, "w") as f:
        json.dump(outcome.summary(), f, indent=1, default=str)
        f.write("\n")


if __name__ == "__main__":  # pragma: no cover - tools/jepsen.py is the command
    sys.exit("run tools/jepsen.py")
