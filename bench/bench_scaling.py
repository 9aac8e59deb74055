"""How throughput grows with processes: a sharded Redis-protocol store and a 2-hop pipeline.

Two experiments, each with 1, 2 and 4 processes where the work can be split:

* **store**: ``redis-benchmark -c 50 -P {1,16} -r 1000000`` (SET, then GET; random keys, so they
  spread over the shards) against
    - ``single``: examples/redis_store.py, one process;
    - ``front xk``: examples/redis_sharded.py:build, a Front process with the one port routing
      by key hash to k shard processes;
    - ``ports xk``: examples/redis_sharded.py:build_ports, a port per shard; one redis-benchmark
      per port at the same time, the 50 connections split between them. (redis-benchmark cannot
      route keys by shard, so each shard serves the keys it is sent; the work per request is
      the same.)
  The rate is all requests of the run over its wall time (from starting the clients to the last
  one's end).
* **pipeline**: bench/net_programs.py:pipeline_clusters, Src -> Mid -> Dst with k members per
  stage (3k processes), each hop an all-to-all shuffle by ``x % k``; beside it the 3-process
  ``pipeline`` of bench_net.py. The rate is n messages over the time from ``go`` to the last
  ``done``.

For every run the CPU time of every process is read (``/proc/<pid>/stat`` for the deployment's
processes, ``wait4`` rusage for the redis-benchmark clients), so the table shows where the cores
went: per role, the cores it kept busy (CPU seconds per wall second) and its CPU microseconds per
request or message, which is what one core of that role costs whatever else runs on the machine.
When the total of all roles reaches the cores the machine has free, the machine, not the runtime,
is the limit.

    python bench/bench_scaling.py [--only store pipeline] [--shards 1 2 4] [--pipelines 1 16]
                                  [--store-n 100000] [--pipe-n 1000000] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Iterator
from contextlib import contextmanager

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(ROOT, "src"))

from hydrologic.deploy import LocalDeployment, Localhost  # noqa: E402

sys.path.insert(0, HERE)
from _results import cpu_seconds, load_average, metric, write_metrics  # noqa: E402
from bench_redis import wait_ping  # noqa: E402

CORES = os.cpu_count() or 1
STORE = os.path.join(ROOT, "examples", "redis_store.py")
SHARDED = os.path.join(ROOT, "examples", "redis_sharded.py")


@dataclass
class Run:
    """One measured run: requests or messages per second, and CPU seconds per process."""

    rate: float
    wall: float
    cpu: dict[str, float] = field(default_factory=lambda: {})

    def busy(self) -> float:
        """CPU seconds per wall second, all processes together (2.0 = two cores all the time)."""
        return sum(self.cpu.values()) / self.wall

    def cpu_of(self, prefix: str) -> float:
        return sum(v for k, v in self.cpu.items() if k.startswith(prefix))


class CpuMeter:
    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = {label: cpu_seconds(pid) for label, pid in pids.items()}

    def stop(self) -> dict[str, float]:
        return {label: cpu_seconds(pid) - self.start[label] for label, pid in self.pids.items()}


# ---- the store -------------------------------------------------------------------------------------


@contextmanager
def deployed(program: str, sizes: dict[str, int] | None = None) -> Iterator[LocalDeployment]:
    with Localhost(log=lambda _: None, log_level="WARNING").start(program, sizes or {}) as d:
        yield d


def redis_benchmark(ports: list[int], test: str, n: int, clients: int, pipeline: int) -> tuple[float, float, list[float]]:
    """Run one redis-benchmark per port at once, ``n`` requests in all; (wall seconds, their CPU
    seconds, each client's reported rate)."""
    per = max(1, clients // len(ports))
    procs = []
    t0 = time.perf_counter()
    for port in ports:
        procs.append(subprocess.Popen(
            ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", test, "-n", str(n // len(ports)),
             "-c", str(per), "-P", str(pipeline), "-r", "1000000", "-q"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    cpu = 0.0
    for p in procs:
        _, _, usage = os.wait4(p.pid, 0)
        cpu += usage.ru_utime + usage.ru_stime
        p.returncode = 0
    wall = time.perf_counter() - t0
    rates = []
    for p in procs:
        assert p.stdout is not None
        out = p.stdout.read()
        m = re.search(rf"{test.upper()}: ([0-9.]+|inf) requests per second", out)
        if m is None:
            raise RuntimeError(f"could not read redis-benchmark's output:\n{out[-2000:]}")
        # A run shorter than redis-benchmark's millisecond clock (a smoke run's few requests)
        # is reported as "inf": count it over the wall time measured here instead.
        rates.append(float(m.group(1)) if m.group(1) != "inf" else (n // len(ports)) / max(wall, 1e-6))
    return wall, cpu, rates


def measure_store(d: LocalDeployment, ports: list[int], test: str, n: int, clients: int, pipeline: int) -> Run:
    for port in ports:
        wait_ping(port)
    redis_benchmark(ports, test, max(len(ports), n // 10), clients, pipeline)  # warm up
    meter = CpuMeter(d.pids())
    wall, client_cpu, _ = redis_benchmark(ports, test, n, clients, pipeline)
    cpu = meter.stop()
    cpu["redis-benchmark"] = client_cpu
    return Run(n / wall, wall, cpu)


def store_configs(shards: list[int]) -> list[tuple[str, str, dict[str, int], int]]:
    """(label, program, sizes, ports)."""
    out = [("single", f"{STORE}:build", {}, 0)]
    out += [(f"front x{k}", f"{SHARDED}:build", {"Shards": k}, 0) for k in shards]
    out += [(f"ports x{k}", f"{SHARDED}:build_ports", {"Shards": k}, k) for k in shards]
    return out


def run_store(shards: list[int], pipelines: list[int], n: int, clients: int) -> dict[tuple[str, int, str], Run]:
    results: dict[tuple[str, int, str], Run] = {}
    for label, program, sizes, nports in store_configs(shards):
        with deployed(program, sizes) as d:
            ports = [d.port("redis").port] if not nports else [d.port("redis", member=i).port for i in range(nports)]
            for pipeline in pipelines:
                for test in ("set", "get"):
                    reqs = n * (4 if pipeline > 1 else 1)
                    results[(label, pipeline, test)] = r = measure_store(d, ports, test, reqs, clients, pipeline)
                    print(f"  store {label:10} -P {pipeline:<3} {test.upper()}: {r.rate:>10,.0f} req/s  "
                          f"CPU {r.busy():.2f} of {CORES} cores ({_cpu_line(r)}); load {os.getloadavg()[0]:.1f}", flush=True)
    return results


# ---- the pipeline ------------------------------------------------------------------------------------


def run_pipeline(k: int, n: int, repeat: int) -> Run:
    best: Run | None = None
    with deployed(f"{HERE}/net_programs.py:pipeline_clusters", {"SrcC": k, "MidC": k, "DstC": k}) as d:
        gos = [d.input("go", member=i) for i in range(k)]
        dones = [d.output("done", member=i) for i in range(k)]
        try:

            def once(total: int) -> float:
                t = time.perf_counter()
                for i, go in enumerate(gos):
                    go.send(total // k + (1 if i < total % k else 0))
                for done in dones:
                    done.take(k * k, timeout=600)
                return time.perf_counter() - t

            once(1000 * k)  # warm up
            for _ in range(repeat):
                meter = CpuMeter(d.pids())
                wall = once(n)
                run = Run(n / wall, wall, meter.stop())
                if best is None or run.rate > best.rate:
                    best = run
        finally:
            for c in [*gos, *dones]:
                c.close()
    assert best is not None
    return best


def run_pipeline_processes(n: int, repeat: int) -> Run:
    best: Run | None = None
    with deployed(f"{HERE}/net_programs.py:pipeline") as d:
        with d.output("done") as done, d.input("go") as go:
            go.send(1000)
            done.recv(30)
            for _ in range(repeat):
                meter = CpuMeter(d.pids())
                t = time.perf_counter()
                go.send(n)
                done.recv(600)
                wall = time.perf_counter() - t
                run = Run(n / wall, wall, meter.stop())
                if best is None or run.rate > best.rate:
                    best = run
    assert best is not None
    return best


def _groups(r: Run) -> dict[str, float]:
    """CPU seconds per role (the members of a cluster together)."""
    groups: dict[str, float] = {}
    for label, v in r.cpu.items():
        g = label.split("/")[0]
        groups[g] = groups.get(g, 0.0) + v
    return groups


def _cpu_line(r: Run) -> str:
    """Per role: cores busy, and CPU microseconds per request or message (the per-core cost)."""
    done = r.rate * r.wall
    return ", ".join(f"{g} {v / r.wall:.2f} = {v / done * 1e6:.1f} us" for g, v in _groups(r).items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=("store", "pipeline"), default=["store", "pipeline"])
    ap.add_argument("--shards", type=int, nargs="+", default=[1, 2, 4], help="shard counts / members per stage")
    ap.add_argument("--pipelines", type=int, nargs="+", default=[1, 16], help="redis-benchmark -P values")
    ap.add_argument("--store-n", type=int, default=100_000, help="requests per test at -P 1 (4x that when pipelined)")
    ap.add_argument("--c", type=int, default=50, help="connections in all (redis-benchmark -c, split between ports)")
    ap.add_argument("--pipe-n", type=int, default=1_000_000, help="messages through the pipeline")
    ap.add_argument("--repeat", type=int, default=2, help="pipeline runs per size (best kept)")
    ap.add_argument("--json", metavar="PATH", help="also write the metrics as JSON (for python -m bench)")
    a = ap.parse_args()
    print(f"{CORES} cores; load average {load_average()}", flush=True)
    metrics: dict[str, dict[str, Any]] = {}
    base = min(a.shards)
    if "store" in a.only:
        for tool in ("redis-benchmark", "redis-cli"):
            if shutil.which(tool) is None:
                sys.exit(f"{tool} is not installed (Debian: apt-get install redis-tools)")
        store = run_store(a.shards, a.pipelines, a.store_n, a.c)
        for p in a.pipelines:
            for t in ("set", "get"):
                single = store[("single", p, t)].rate
                for mode in ("front", "ports"):
                    for k in a.shards:
                        r = store[(f"{mode} x{k}", p, t)]
                        metrics[f"store {mode} x{k} P{p} {t.upper()} req/s"] = metric(r.rate, "higher", "req/s")
                        metrics[f"store {mode} x{k} P{p} {t.upper()} / single"] = metric(r.rate / single, "higher", "x")
                        metrics[f"store {mode} x{k} P{p} {t.upper()} CPU busy"] = metric(r.busy(), "higher", "cores")
                        for g, v in _groups(r).items():
                            metrics[f"store {mode} x{k} P{p} {t.upper()} {g} CPU us/req"] = metric(
                                v / (r.rate * r.wall) * 1e6, "lower", "us")
                metrics[f"store single P{p} {t.upper()} req/s"] = metric(single, "higher", "req/s")
                sr = store[("single", p, t)]
                for g, v in _groups(sr).items():
                    metrics[f"store single P{p} {t.upper()} {g} CPU us/req"] = metric(v / (sr.rate * sr.wall) * 1e6, "lower", "us")
                # per-core figures for the extrapolation: requests per CPU second of each role
                one = store[(f"ports x{base}", p, t)]
                metrics[f"store shard P{p} {t.upper()} req per shard-CPU-s"] = metric(
                    one.rate * one.wall / max(1e-9, one.cpu_of("Shards")), "higher", "req/s")
                fr = store[(f"front x{base}", p, t)]
                metrics[f"store front P{p} {t.upper()} req per front-CPU-s"] = metric(
                    fr.rate * fr.wall / max(1e-9, fr.cpu_of("Front")), "higher", "req/s")
                metrics[f"store front P{p} {t.upper()} req per shard-CPU-s"] = metric(
                    fr.rate * fr.wall / max(1e-9, fr.cpu_of("Shards")), "higher", "req/s")
    if "pipeline" in a.only:
        procs = run_pipeline_processes(a.pipe_n, a.repeat)
        print(f"  pipeline 3 processes     : {procs.rate:>10,.0f} msgs/s  CPU {procs.busy():.2f} of {CORES} cores ({_cpu_line(procs)})", flush=True)
        metrics["pipeline processes msgs/s"] = metric(procs.rate, "higher", "msgs/s")
        runs = {}
        for k in a.shards:
            runs[k] = r = run_pipeline(k, a.pipe_n, a.repeat)
            print(f"  pipeline {k} per stage ({3 * k:2} p): {r.rate:>10,.0f} msgs/s  CPU {r.busy():.2f} of {CORES} cores ({_cpu_line(r)})", flush=True)
            metrics[f"pipeline x{k} msgs/s"] = metric(r.rate, "higher", "msgs/s")
            metrics[f"pipeline x{k} / x{base}"] = metric(r.rate / runs[base].rate, "higher", "x")
            metrics[f"pipeline x{k} CPU busy"] = metric(r.busy(), "higher", "cores")
            for g, v in _groups(r).items():
                metrics[f"pipeline x{k} {g} CPU us/msg"] = metric(v / a.pipe_n * 1e6, "lower", "us")
        one = runs[base]
        metrics["pipeline msgs per CPU-s (all stages)"] = metric(a.pipe_n / max(1e-9, sum(one.cpu.values())), "higher", "msgs/s")
    print(f"load average after: {load_average()}")
    write_metrics(a.json, "scaling", metrics, {"shards": a.shards, "pipelines": a.pipelines, "store_n": a.store_n,
                                                "pipe_n": a.pipe_n, "c": a.c, "cores": CORES})


if __name__ == "__main__":
    main()
