"""Checkpoints and log compaction of the Paxos-replicated store: memory, disk, restart, failover.

The durable replicated store (``examples/redis_replicated.py:build_durable``: a gateway, 3
replicas, 3 acceptors on Localhost, ``fsync=batch``), with replicas checkpointing every
``--every`` slots (``0``: no checkpoints, the log is kept whole, as before compaction existed).

* ``growth``: ``redis-benchmark -t set -d 1024 -r KEYS`` in rounds of ``--step`` SETs up to
  ``--n``; after each round, the RSS of every process and the size of its data directory.
* ``restart``: load ``--n`` SETs of ``--size`` bytes with random keys from ``-r --n`` (about 63%
  distinct), counting leader changes during the load (a checkpoint that stalls a replica for
  longer than the election timeout deposes the leader) and the RSS after it; SIGKILL all 7 processes, deploy again on the same directories, and time until PING and the first GET
  answer; DBSIZE before and after.
* ``failover``: a client writes in a loop while ``redis-benchmark`` loads the store; SIGKILL the
  leader; the time from the kill until the looping client's next SET succeeds.

    python bench/bench_paxos_compaction.py growth --n 200000 --step 20000 [--every 5000]
    python bench/bench_paxos_compaction.py restart --n 1000000 [--every 5000]
    python bench/bench_paxos_compaction.py failover [--every 5000]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, HERE)

from _results import load_average  # noqa: E402
from bench_replicated import wait_ping  # noqa: E402

from hydrologic.deploy import LocalDeployment, Localhost  # noqa: E402

EXAMPLE = os.path.join(ROOT, "examples", "redis_replicated.py")
SIZES = {"Replicas": 3, "Acceptors": 3}
INSTANCES = ["Gateway"] + [f"Replicas-{i}" for i in range(3)] + [f"Acceptors-{i}" for i in range(3)]


def _deploy(data_dir: str, logs: list[str] | None = None) -> LocalDeployment:
    log = logs.append if logs is not None else (lambda _: None)
    level = "INFO" if logs is not None else "WARNING"
    return Localhost(log=log, log_level=level, on_failure="continue", data_dir=data_dir).start(f"{EXAMPLE}:build_durable", SIZES)


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6 if path.exists() else 0.0


def _bench(port: int, args: list[str], timeout: float = 3600) -> str:
    out = subprocess.run(["redis-benchmark", "-p", str(port), *args, "-q"], capture_output=True, text=True, timeout=timeout)
    return out.stdout.replace("\r", "\n").strip().splitlines()[-1] if out.stdout.strip() else out.stderr


def growth(n: int, step: int, keys: int, c: int, pipeline: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        with _deploy(data_dir) as d:
            port = d.port("redis").port
            wait_ping(port, timeout=120)
            pids = d.pids()
            labels = sorted(pids)
            print(f"| SETs | {' | '.join(f'{k} RSS MB' for k in labels if k != 'Gateway')} | "
                  f"{' | '.join(f'{i} disk MB' for i in INSTANCES[1:])} | rate |")
            print("|" + "---:|" * (len(labels) + len(INSTANCES)))
            done = 0
            while done < n:
                t = time.monotonic()
                _bench(port, ["-t", "set", "-n", str(step), "-c", str(c), "-P", str(pipeline), "-d", "1024", "-r", str(keys)])
                rate = step / (time.monotonic() - t)
                done += step
                rss = [f"{_rss_mb(pids[k]):.0f}" for k in labels if k != "Gateway"]
                disk = [f"{_disk_mb(Path(data_dir) / i):.1f}" for i in INSTANCES[1:]]
                print(f"| {done:,} | {' | '.join(rss)} | {' | '.join(disk)} | {rate:,.0f}/s |", flush=True)


def restart(n: int, c: int, pipeline: int, size: int, log_path: str | None = None) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        load_logs: list[str] = []
        d = _deploy(data_dir, load_logs)
        try:
            port = d.port("redis").port
            wait_ping(port, timeout=120)
            first = len([line for line in load_logs if "leads with" in line])
            t = time.monotonic()
            _bench(port, ["-t", "set", "-n", str(n), "-c", str(c), "-P", str(pipeline), "-r", str(n), "-d", str(size)])
            took = time.monotonic() - t
            dbsize = subprocess.run(["redis-cli", "-p", str(port), "DBSIZE"], capture_output=True, text=True).stdout.strip()
            changes = len([line for line in load_logs if "leads with" in line]) - first
            pids = d.pids()
            rss = ", ".join(f"{k} {_rss_mb(pids[k]):.0f}" for k in sorted(pids))
            print(f"loaded {n:,} SETs of {size} B in {took:.1f} s ({n / took:,.0f}/s); DBSIZE {dbsize}; "
                  f"leader changes during the load: {changes}", flush=True)
            print(f"RSS MB after the load: {rss}", flush=True)
            if changes:
                print("leader changes: " + " / ".join(line.split("INFO ")[-1] for line in load_logs[first:] if "leads with" in line), flush=True)
            if log_path:
                Path(log_path).write_text("\n".join(load_logs) + "\n")
            for pid in d.pids().values():
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
        finally:
            d.stop()
        disk = {i: _disk_mb(Path(data_dir) / i) for i in INSTANCES}
        print("disk MB after the load: " + ", ".join(f"{k} {v:.1f}" for k, v in disk.items()))
        logs: list[str] = []
        started = time.monotonic()
        with _deploy(data_dir, logs) as d:
            port = d.port("redis").port
            deployed = time.monotonic() - started
            wait_ping(port, timeout=600)
            ping = time.monotonic() - started
            subprocess.run(["redis-cli", "-p", str(port), "GET", "key:000000000001"], capture_output=True, timeout=600, check=True)
            get = time.monotonic() - started
            size = subprocess.run(["redis-cli", "-p", str(port), "DBSIZE"], capture_output=True, text=True).stdout.strip()
            leads = [line for line in logs if "leads with" in line]
        print(f"restart: processes up {deployed:.2f} s, PING {ping:.2f} s, first GET {get:.2f} s; DBSIZE {size}")
        print(f"leader changes during recovery: {len(leads)}: " + " / ".join(line.split("INFO ")[-1] for line in leads))


def failover(c: int, pipeline: int, preload: int) -> None:
    import redis

    with tempfile.TemporaryDirectory() as data_dir:
        logs: list[str] = []
        with _deploy(data_dir, logs) as d:
            port = d.port("redis").port
            wait_ping(port, timeout=120)
            if preload:
                _bench(port, ["-t", "set", "-n", str(preload), "-c", str(c), "-P", str(pipeline), "-r", "100000"])
            leader = max((line for line in logs if "leads with" in line), key=logs.index)
            member = int(leader.split("[Replicas/")[1].split("]")[0])
            load = subprocess.Popen(["redis-benchmark", "-p", str(port), "-t", "set", "-n", "10000000", "-c", str(c), "-P",
                                     str(pipeline), "-r", "100000", "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            done: list[tuple[float, float]] = []  # (sent, answered) of each probe SET
            stop = threading.Event()

            def writer() -> None:
                r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=120)
                i = 0
                while not stop.is_set():
                    sent = time.monotonic()
                    r.set("probe", i)
                    done.append((sent, time.monotonic()))
                    i += 1

            th = threading.Thread(target=writer, daemon=True)
            th.start()
            time.sleep(3)
            leaders = len([line for line in logs if "leads with" in line])
            killed = time.monotonic()
            d.kill("Replicas", member)
            elected = float("nan")
            while time.monotonic() - killed < 120:
                if elected != elected and len([line for line in logs if "leads with" in line]) > leaders:
                    elected = time.monotonic() - killed
                if [a for s0, a in done if s0 > killed]:
                    break
                time.sleep(0.01)
            after = [a for s0, a in done if s0 > killed]
            stop.set()
            load.terminate()
            load.wait()
            gap = after[0] - killed if after else float("nan")
            before = [a for s0, a in done if a <= killed]
            print(f"killed leader Replicas/{member}; the first probe SET sent after the kill succeeded {gap:.2f} s "
                  f"after it (new leader logged after {elected:.2f} s); {len(before)} probe SETs in the 3 s before")
            print("leader changes: " + " / ".join(line.split("INFO ")[-1] for line in logs if "leads with" in line))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["growth", "restart", "failover"])
    ap.add_argument("--n", type=int, default=200000)
    ap.add_argument("--step", type=int, default=20000)
    ap.add_argument("--keys", type=int, default=10000, help="growth: redis-benchmark -r (key space)")
    ap.add_argument("--c", type=int, default=50)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--size", type=int, default=3, help="restart: value size in bytes (redis-benchmark -d)")
    ap.add_argument("--preload", type=int, default=20000, help="failover: SETs before the kill")
    ap.add_argument("--every", type=int, default=5000, help="checkpoint every N slots (0: no checkpoints)")
    ap.add_argument("--log", metavar="PATH", help="restart: write every log line of the load (INFO) to PATH")
    args = ap.parse_args()
    os.environ["HL_REDIS_CHECKPOINT_EVERY"] = str(args.every)
    print(f"{args.what}: checkpoint every {args.every or 'never'}; load average before {load_average()}", flush=True)
    if args.what == "growth":
        growth(args.n, args.step, args.keys, args.c, args.pipeline)
    elif args.what == "restart":
        restart(args.n, args.c, args.pipeline, args.size, args.log)
    else:
        failover(args.c, args.pipeline, args.preload)
    print(f"load average after {load_average()}")


if __name__ == "__main__":
    main()
