"""Committed operations per second: the Paxos-replicated Redis store vs PySyncObj (Raft), same run.

* hydrologic: ``examples/redis_replicated.py:build`` deployed on Localhost (a gateway, 3 replicas,
  3 acceptors: 7 OS processes), driven by ``redis-benchmark -t set,get -n N -c C [-P P] -q``.
  Every command, GET included, is committed through the Paxos log before it is answered.
* PySyncObj 0.3 (a Raft library for Python): 3 local processes, each a ``SyncObj`` node holding a
  dict with a ``@replicated`` set method, on loopback ports. A client in the first node's process
  waits for a leader and submits N sets, keeping at most C x P in flight (the same window as
  redis-benchmark's C connections x P pipelined requests); an op counts when its commit callback
  fires. (PySyncObj reads are local, not replicated, so only writes are compared.)

It also counts leader elections during the measured part (a proposer's "leads with" log line),
which should stay 0: a busy leader must not be deposed by its own load, and, from ``/proc``, the
CPU time each role's processes used per 1,000 commands (less sensitive to other jobs on the
machine than a rate) and the commands per tick of the leader's process.

``--repeats R`` runs every level R times, the levels interleaved (1, 16, ..., 1, 16, ...) so that
a change of load hits them alike, and prints each level's median with the range of the runs.

    python bench/bench_replicated.py [--n 20000] [--c 50] [--pipelines 1,16,64,256] [--repeats 3] [--no-pysyncobj]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(ROOT, "src"))

from hydrologic.deploy import Localhost  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import cpu_seconds, metric, write_metrics  # noqa: E402


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def wait_ping(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True)
        if out.stdout.strip() == "PONG":
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing answers PING on port {port}")


ELECTED = re.compile(r"proposer (\d+) leads with")


def role_of(label: str, leader: str | None) -> str:
    if label.startswith("Replicas/"):
        return "leader" if label == leader else "follower"
    return "acceptor" if label.startswith("Acceptors/") else "gateway"


def bench_hydrologic(n: int, c: int, pipeline: int) -> dict[str, float]:
    """SET and GET ops/s; ``elections``: how many times a proposer took office during the
    measured part (the first leader is elected during the warm-up; every later one is a leader
    change); and where the CPU went: ``cpu <role>``, CPU ms per 1,000 commands (SET and GET) of
    the gateway, the leader's process, the followers' and the acceptors' (summed per role), and
    ``per leader tick``, the commands per tick of the leader's process."""
    program = os.path.join(ROOT, "examples", "redis_replicated.py") + ":build"
    lines: list[str] = []
    with Localhost(log=lines.append, log_level="INFO").start(program, {"Replicas": 3, "Acceptors": 3}) as d:
        port = d.port("redis").port
        wait_ping(port)
        subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", "2000", "-c", str(c), "-q"], capture_output=True, timeout=120)
        won = [m.group(1) for line in list(lines) for m in [ELECTED.search(line)] if m]
        leader = f"Replicas/{won[-1]}" if won else None
        pids = d.pids()
        cpu0 = {label: cpu_seconds(pid) for label, pid in pids.items()}
        ticks0 = d.stats("Replicas", int(won[-1]))["ticks"] if won else 0
        out = subprocess.run(
            ["redis-benchmark", "-p", str(port), "-t", "set,get", "-n", str(n), "-c", str(c), "-P", str(pipeline), "-q"],
            capture_output=True, text=True, timeout=600,
        ).stdout.replace("\r", "\n")
        cpu1 = {label: cpu_seconds(pid) for label, pid in pids.items()}
        ticks1 = d.stats("Replicas", int(won[-1]))["ticks"] if won else 0
        after = sum(1 for line in list(lines) if ELECTED.search(line))
    if after > len(won):  # say who campaigned, and why the leader's last term ended, to find out why
        for line in lines:
            if "campaigns" in line or ELECTED.search(line) or "WARNING" in line or "ERROR" in line:
                print(f"  [-P {pipeline}] {line}", file=sys.stderr)
    res: dict[str, float] = {"elections": float(after - len(won))}
    for test in ("SET", "GET"):
        m = re.findall(rf"^{test}: ([0-9.]+) requests per second", out, re.M)
        res[test] = float(m[-1]) if m else float("nan")
    for role in ("gateway", "leader", "follower", "acceptor"):
        used = sum(cpu1[label] - cpu0[label] for label in pids if role_of(label, leader) == role)
        res[f"cpu {role}"] = used * 1000 / (2 * n / 1000)
    res["per leader tick"] = 2 * n / max(1, ticks1 - ticks0)
    return res


# ---- PySyncObj ------------------------------------------------------------------------------------


PYSYNCOBJ_TIMEOUT = 120.0  # seconds for one PySyncObj run's commits


def _node(me: str, others: list[str], n: int, window: int, result: Any, ready: Any) -> None:
    from pysyncobj import SyncObj, SyncObjConf, replicated

    class Store(SyncObj):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(me, others, SyncObjConf(dynamicMembershipChange=False))
            self.data: dict[str, str] = {}

        @replicated  # type: ignore[misc]
        def set(self, key: str, value: str) -> None:
            self.data[key] = value

    store = Store()
    if result is None:  # a follower process: serve until killed
        ready.set()
        while True:
            time.sleep(1)
    store.waitReady()
    while store._getLeader() is None:  # noqa: SLF001
        time.sleep(0.05)
    ready.set()
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
        store.set(f"key:{i % 10000}", "xxx", callback=on_commit)
    # PySyncObj sometimes never calls some callbacks (seen with every set in flight, beside its
    # "state machine may have diverged" warnings): such a run is reported as unfinished (NaN)
    # instead of waiting 10 minutes and reporting a rate
    finished = done.wait(PYSYNCOBJ_TIMEOUT)
    result.value = n / (time.perf_counter() - t0) if finished else float("nan")


def bench_pysyncobj(n: int, window: int) -> float:
    ports = free_ports(3)
    addrs = [f"127.0.0.1:{p}" for p in ports]
    ctx = mp.get_context("spawn")
    result = ctx.Value("d", 0.0)
    ready = ctx.Event()
    procs = []
    for i, a in enumerate(addrs):
        others = [x for x in addrs if x != a]
        procs.append(ctx.Process(target=_node, args=(a, others, n, window, result if i == 0 else None, ready), daemon=True))
    try:
        for p in procs:
            p.start()
        procs[0].join(timeout=PYSYNCOBJ_TIMEOUT + 60)
        return float(result.value)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
            p.join(timeout=5)


def spread(xs: list[float]) -> str:
    """The median, and the range of the runs when there are several."""
    med = statistics.median(xs)
    if len(xs) == 1:
        return f"{med:,.0f}"
    return f"{med:,.0f} ({min(xs):,.0f}–{max(xs):,.0f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000, help="operations per test (default 20000)")
    ap.add_argument("--c", type=int, default=50, help="concurrent clients (default 50)")
    ap.add_argument("--pipelines", default="1,16", help="redis-benchmark -P values to run (default 1,16)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per level, interleaved (default 1)")
    ap.add_argument("--no-unbounded", action="store_true", help="skip PySyncObj with every set in flight")
    ap.add_argument("--no-pysyncobj", action="store_true", help="measure the hydrologic store only")
    ap.add_argument("--json", metavar="PATH", help="also write the ratios as JSON (for python -m bench)")
    args = ap.parse_args()
    pipelines = [int(x) for x in args.pipelines.split(",")]
    runs: dict[int, list[dict[str, float]]] = {p: [] for p in pipelines}
    loads: list[float] = []
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("| run | `-P` | SET ops/s | GET ops/s | elections | CPU ms / 1,000 commands: gateway, leader, followers, acceptors "
          "| commands per leader tick | load average |")
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for r in range(args.repeats):
        for pipeline in pipelines:
            res = bench_hydrologic(args.n, args.c, pipeline)
            if not args.no_pysyncobj:
                res["pysyncobj"] = bench_pysyncobj(args.n, args.c * pipeline)
            load = os.getloadavg()[0]
            loads.append(load)
            runs[pipeline].append(res)
            cpu = ", ".join(f"{res[f'cpu {role}']:.0f}" for role in ("gateway", "leader", "follower", "acceptor"))
            print(f"| {r + 1} | {pipeline} | {res['SET']:,.0f} | {res['GET']:,.0f} | {res['elections']:.0f} | {cpu} "
                  f"| {res['per leader tick']:.0f} | {load:.1f} |", flush=True)
    print()
    print(f"load average {min(loads):.1f}–{max(loads):.1f} over the runs; median (range) of {args.repeats} run(s) per level")
    print(f"| redis-benchmark `-n {args.n} -c {args.c}` | in flight | hydrologic SET ops/s | hydrologic GET ops/s "
          "| leader elections while measured | CPU ms / 1,000 commands | PySyncObj set ops/s (same window) | ratio SET / PySyncObj |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    metrics = {}
    for pipeline in pipelines:
        rs = runs[pipeline]
        sets, gets = [x["SET"] for x in rs], [x["GET"] for x in rs]
        elections = sum(x["elections"] for x in rs)
        cpu = [sum(x[f"cpu {role}"] for role in ("gateway", "leader", "follower", "acceptor")) for x in rs]
        if args.no_pysyncobj:
            theirs = "| (not run) | |"
        else:
            done = [x["pysyncobj"] for x in rs if not math.isnan(x["pysyncobj"])]
            unfinished = len(rs) - len(done)
            note = f" ({unfinished} unfinished)" if unfinished else ""
            if done:
                pso = statistics.median(done)
                theirs = f"| {spread(done)}{note} | {statistics.median(sets) / pso:.2f} |"
                metrics[f"P{pipeline} SET / PySyncObj"] = metric(statistics.median(sets) / pso, "higher", "x")
            else:
                theirs = f"| none finished{note} | |"
        print(f"| `-P {pipeline}` | {args.c * pipeline} | {spread(sets)} | {spread(gets)} | {elections:.0f} | {spread(cpu)} {theirs}",
              flush=True)
        metrics[f"P{pipeline} SET ops/s"] = metric(statistics.median(sets), "higher", "ops/s")
        metrics[f"P{pipeline} GET ops/s"] = metric(statistics.median(gets), "higher", "ops/s")
        metrics[f"P{pipeline} leader elections"] = metric(elections, "lower", "")
        metrics[f"P{pipeline} CPU ms per 1000 commands"] = metric(statistics.median(cpu), "lower", "ms")
    if not args.no_unbounded and not args.no_pysyncobj:
        # every set in flight: PySyncObj's rate here moves by an order of magnitude from run to
        # run, so it runs as many times as the levels, and its median and best are both shown
        unbounded = [bench_pysyncobj(args.n, args.n) for _ in range(args.repeats)]
        done = [x for x in unbounded if not math.isnan(x)]
        unfinished = len(unbounded) - len(done)
        shown = (spread(done) if done else "none finished") + (f" ({unfinished} unfinished in {PYSYNCOBJ_TIMEOUT:.0f} s)" if unfinished else "")
        print(f"| PySyncObj, all {args.n} in flight | {args.n} | | | | | {shown} | |")
        levels = {f"window {args.c * p}": [x["pysyncobj"] for x in runs[p]] for p in pipelines}
        levels["all in flight"] = unbounded
        medians = {k: statistics.median(f) for k, v in levels.items() if (f := [x for x in v if not math.isnan(x)])}
        if medians:
            level = max(medians, key=lambda k: medians[k])
            best = max(x for v in levels.values() for x in v if not math.isnan(x))
            print(f"PySyncObj's best level by median: {medians[level]:,.0f} sets/s ({level}); its best single run: {best:,.0f}")
    write_metrics(args.json, "replicated", metrics, {"n": args.n, "c": args.c, "pipelines": args.pipelines, "repeats": args.repeats})


if __name__ == "__main__":
    main()
