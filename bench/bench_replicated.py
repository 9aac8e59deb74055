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
which should stay 0: a busy leader must not be deposed by its own load.

    python bench/bench_replicated.py [--n 20000] [--c 50] [--pipelines 1,16,64,256] [--no-pysyncobj]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import re
import socket
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
from _results import metric, write_metrics  # noqa: E402


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


ELECTED = re.compile(r"proposer \d+ leads with")


def bench_hydrologic(n: int, c: int, pipeline: int) -> dict[str, float]:
    """SET and GET ops/s, and ``elections``: how many times a proposer took office during the
    measured part (the first leader is elected during the warm-up; every later one is a leader
    change)."""
    program = os.path.join(ROOT, "examples", "redis_replicated.py") + ":build"
    lines: list[str] = []
    with Localhost(log=lines.append, log_level="INFO").start(program, {"Replicas": 3, "Acceptors": 3}) as d:
        port = d.port("redis").port
        wait_ping(port)
        subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", "2000", "-c", str(c), "-q"], capture_output=True, timeout=120)
        before = sum(1 for line in list(lines) if ELECTED.search(line))
        out = subprocess.run(
            ["redis-benchmark", "-p", str(port), "-t", "set,get", "-n", str(n), "-c", str(c), "-P", str(pipeline), "-q"],
            capture_output=True, text=True, timeout=600,
        ).stdout.replace("\r", "\n")
        after = sum(1 for line in list(lines) if ELECTED.search(line))
    res: dict[str, float] = {"elections": float(after - before)}
    for test in ("SET", "GET"):
        m = re.findall(rf"^{test}: ([0-9.]+) requests per second", out, re.M)
        res[test] = float(m[-1]) if m else float("nan")
    return res


# ---- PySyncObj ------------------------------------------------------------------------------------


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
    done.wait(600)
    result.value = n / (time.perf_counter() - t0)


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
        procs[0].join(timeout=600)
        return float(result.value)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
            p.join(timeout=5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000, help="operations per test (default 20000)")
    ap.add_argument("--c", type=int, default=50, help="concurrent clients (default 50)")
    ap.add_argument("--pipelines", default="1,16", help="redis-benchmark -P values to run (default 1,16)")
    ap.add_argument("--no-unbounded", action="store_true", help="skip PySyncObj with every set in flight")
    ap.add_argument("--no-pysyncobj", action="store_true", help="measure the hydrologic store only")
    ap.add_argument("--json", metavar="PATH", help="also write the ratios as JSON (for python -m bench)")
    args = ap.parse_args()
    metrics = {}
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"| redis-benchmark `-n {args.n} -c {args.c}` | in flight | hydrologic SET ops/s | hydrologic GET ops/s "
          "| leader elections while measured | PySyncObj set ops/s (same window) | ratio SET / PySyncObj |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for pipeline in (int(x) for x in args.pipelines.split(",")):
        window = args.c * pipeline
        hl_res = bench_hydrologic(args.n, args.c, pipeline)
        pso = float("nan") if args.no_pysyncobj else bench_pysyncobj(args.n, window)
        theirs = "| (not run) | |" if args.no_pysyncobj else f"| {pso:,.0f} | {hl_res['SET'] / pso:.2f} |"
        print(f"| `-P {pipeline}` | {window} | {hl_res['SET']:,.0f} | {hl_res['GET']:,.0f} | {hl_res['elections']:.0f} {theirs}",
              flush=True)
        metrics[f"P{pipeline} SET ops/s"] = metric(hl_res["SET"], "higher", "ops/s")
        metrics[f"P{pipeline} GET ops/s"] = metric(hl_res["GET"], "higher", "ops/s")
        metrics[f"P{pipeline} leader elections"] = metric(hl_res["elections"], "lower", "")
        if not args.no_pysyncobj:
            metrics[f"P{pipeline} SET / PySyncObj"] = metric(hl_res["SET"] / pso, "higher", "x")
    if not args.no_unbounded and not args.no_pysyncobj:
        pso = bench_pysyncobj(args.n, args.n)
        print(f"| PySyncObj, all {args.n} in flight | {args.n} | | | {pso:,.0f} | |")
    write_metrics(args.json, "replicated", metrics, {"n": args.n, "c": args.c, "pipelines": args.pipelines})


if __name__ == "__main__":
    main()
