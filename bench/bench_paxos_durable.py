"""What durable Paxos members cost, and how fast a whole store comes back.

* SET/s of the Paxos-replicated Redis store (``examples/redis_replicated.py``: a gateway, 3
  replicas, 3 acceptors on Localhost), in memory (``build``) vs durable (``build_durable``,
  ``fsync=batch``: acceptors write each accepted slot, group-committed), driven by
  ``redis-benchmark -t set -n N -c C -P P -q`` at each ``-P``.
* Whole-cluster restart: after the durable store has taken N SETs, SIGKILL all 7 processes,
  deploy again on the same data directories and time until the first GET is answered (the new
  leader re-proposes the recovered log, which every replica applies again).

    python bench/bench_paxos_durable.py [--n 20000] [--c 50] [--pipelines 1,16] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, HERE)

from _results import load_average, metric, write_metrics  # noqa: E402
from bench_replicated import wait_ping  # noqa: E402

from hydrologic.deploy import Localhost  # noqa: E402

EXAMPLE = os.path.join(ROOT, "examples", "redis_replicated.py")
SIZES = {"Replicas": 3, "Acceptors": 3}


def set_rate(target: str, n: int, c: int, pipeline: int, data_dir: str | None) -> float:
    with Localhost(log=lambda _: None, log_level="WARNING", data_dir=data_dir).start(f"{EXAMPLE}:{target}", SIZES) as d:
        port = d.port("redis").port
        wait_ping(port, timeout=120)
        subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", "2000", "-c", str(c), "-q"], capture_output=True, timeout=300)
        out = subprocess.run(
            ["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(n), "-c", str(c), "-P", str(pipeline), "-q"],
            capture_output=True, text=True, timeout=900,
        ).stdout.replace("\r", "\n")
    m = re.findall(r"^SET: ([0-9.]+) requests per second", out, re.M)
    return float(m[-1]) if m else float("nan")


def restart_to_serving(n: int, c: int) -> tuple[float, float]:
    """Seconds from the second deployment's start until PING, and until the first GET, answers."""
    with tempfile.TemporaryDirectory() as data_dir:
        d = Localhost(log=lambda _: None, log_level="WARNING", on_failure="continue", data_dir=data_dir).start(f"{EXAMPLE}:build_durable", SIZES)
        try:
            port = d.port("redis").port
            wait_ping(port, timeout=120)
            subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(n), "-c", str(c), "-r", "1000", "-q"], capture_output=True, timeout=900)
            for pid in d.pids().values():
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
        finally:
            d.stop()
        started = time.monotonic()
        with Localhost(log=lambda _: None, log_level="WARNING", data_dir=data_dir).start(f"{EXAMPLE}:build_durable", SIZES) as d:
            port = d.port("redis").port
            wait_ping(port, timeout=120)
            ping = time.monotonic() - started
            subprocess.run(["redis-cli", "-p", str(port), "GET", "key:000000000001"], capture_output=True, timeout=120, check=True)
            get = time.monotonic() - started
    return ping, get


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000, help="SETs per measurement (default 20000)")
    ap.add_argument("--c", type=int, default=50, help="concurrent clients (default 50)")
    ap.add_argument("--pipelines", default="1,16", help="redis-benchmark -P values (default 1,16)")
    ap.add_argument("--restart-n", type=int, default=20000, help="SETs before the whole-cluster restart (default 20000)")
    ap.add_argument("--json", metavar="PATH", help="also write the results as JSON (for python -m bench)")
    args = ap.parse_args()
    metrics = {}
    print(f"load average before: {load_average()}")
    print(f"| redis-benchmark `-t set -n {args.n} -c {args.c}` | in memory SET/s | durable (fsync=batch) SET/s | durable / in memory |")
    print("|---|---:|---:|---:|")
    for pipeline in (int(x) for x in args.pipelines.split(",")):
        mem = set_rate("build", args.n, args.c, pipeline, None)
        with tempfile.TemporaryDirectory() as data_dir:
            dur = set_rate("build_durable", args.n, args.c, pipeline, data_dir)
        print(f"| `-P {pipeline}` | {mem:,.0f} | {dur:,.0f} | {dur / mem:.2f} |", flush=True)
        metrics[f"P{pipeline} in-memory SET ops/s"] = metric(mem, "higher", "ops/s")
        metrics[f"P{pipeline} durable SET ops/s"] = metric(dur, "higher", "ops/s")
    ping, get = restart_to_serving(args.restart_n, args.c)
    print(f"whole-cluster restart after {args.restart_n} SETs: PING answered after {ping:.2f} s, first GET after {get:.2f} s")
    metrics["restart to first GET"] = metric(get, "lower", "s")
    print(f"load average after: {load_average()}")
    write_metrics(args.json, "paxos_durable", metrics, {"n": args.n, "c": args.c, "pipelines": args.pipelines, "restart_n": args.restart_n})


if __name__ == "__main__":
    main()
