"""Requests per second of the single-node Redis-protocol store vs a real redis-server.

Both servers run on this machine in the same run and are driven by the same client,
``redis-benchmark -t set,get -n N -c C -q`` (Debian's redis-tools):

  * hydrologic: ``examples/redis_store.py:build`` deployed on Localhost (one OS process, uvloop
    when installed), the store's port on loopback;
  * redis: ``redis-server`` started by this script on another free loopback port, with
    persistence off (``--save "" --appendonly no``) so both servers keep the data in memory only.

Each server is measured ``--repeat`` times (best run kept); the table gives ops/s and the ratio.
With hiredis installed the store runs twice in the same invocation, once with hiredis's C reader
on its port and once with the pure-Python parser (``HYDROLOGIC_RESP_PARSER=python``), so the two
are compared under the same load (``--parser`` picks one).

    python bench/bench_redis.py [--n 100000] [--c 50] [--pipeline 1] [--repeat 3] [--parser both] [--markdown] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Iterator
from contextlib import contextmanager

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(ROOT, "src"))

from hydrologic.deploy import Localhost  # noqa: E402
from hydrologic.net.resp import PARSER_ENV, fast_parser_available  # noqa: E402

sys.path.insert(0, HERE)
from _results import load_average, metric, write_metrics  # noqa: E402

TESTS = ("SET", "GET")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ping(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True)
        if out.stdout.strip() == "PONG":
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing answers PING on port {port}")


@contextmanager
def hydrologic_store(parser: str = "fast") -> Iterator[int]:
    """The store on Localhost, its port parsing RESP with hiredis (``fast``) or in pure Python."""
    saved = os.environ.get(PARSER_ENV)
    if parser == "python":
        os.environ[PARSER_ENV] = "python"
    else:
        os.environ.pop(PARSER_ENV, None)
    try:
        with Localhost(log=lambda _: None, log_level="WARNING").start(os.path.join(ROOT, "examples", "redis_store.py") + ":build") as d:
            port = d.port("redis").port
            wait_ping(port)
            yield port
    finally:
        if saved is None:
            os.environ.pop(PARSER_ENV, None)
        else:
            os.environ[PARSER_ENV] = saved


@contextmanager
def redis_server() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_ping(port)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def benchmark(port: int, n: int, clients: int, pipeline: int) -> dict[str, float]:
    out = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "set,get", "-n", str(n), "-c", str(clients),
         "-P", str(pipeline), "-q"],
        capture_output=True, text=True, timeout=600,
    )
    # -q prints progress lines ending in \r, then "SET: 28200.79 requests per second, p50=..."
    rates: dict[str, float] = {}
    for m in re.finditer(r"(?:^|\r|\n)\s*(SET|GET): ([0-9.]+|inf) requests per second", out.stdout):
        rates[m.group(1)] = float(m.group(2))
    if set(rates) == set(TESTS) and max(rates.values()) == float("inf") and n < 10_000_000:
        return benchmark(port, n * 10, clients, pipeline)  # over before redis-benchmark's clock ticked
    if set(rates) != set(TESTS):
        raise RuntimeError(f"could not read redis-benchmark's output:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return rates


def best_of(port: int, n: int, clients: int, pipeline: int, repeat: int) -> dict[str, float]:
    best = {t: 0.0 for t in TESTS}
    benchmark(port, min(n, 10_000), clients, pipeline)  # warm up
    for _ in range(repeat):
        for t, r in benchmark(port, n, clients, pipeline).items():
            best[t] = max(best[t], r)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000, help="requests per test (redis-benchmark -n)")
    ap.add_argument("--c", type=int, default=50, help="concurrent clients (redis-benchmark -c)")
    ap.add_argument("--pipeline", type=int, default=1, help="requests pipelined per client (redis-benchmark -P)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--parser", choices=("both", "fast", "python"), default="both",
                    help="the store's RESP parser: hiredis's C reader, pure Python, or both in turn (default)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument("--json", metavar="PATH", help="also write the ratios as JSON (for python -m bench)")
    args = ap.parse_args()
    for tool in ("redis-benchmark", "redis-cli", "redis-server"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (Debian: apt-get install redis-tools redis-server)")
    parsers = ["fast", "python"] if args.parser == "both" else [args.parser]
    if "fast" in parsers and not fast_parser_available():
        if args.parser == "fast":
            sys.exit("hiredis is not installed: pip install 'hydrologic[fast]'")
        parsers = ["python"]
    load = [load_average()]
    ours: dict[str, dict[str, float]] = {}
    for parser in parsers:
        with hydrologic_store(parser) as port:
            ours[parser] = best_of(port, args.n, args.c, args.pipeline, args.repeat)
        load.append(load_average())
    with redis_server() as port:
        theirs = best_of(port, args.n, args.c, args.pipeline, args.repeat)
    load.append(load_average())
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
    title = f"redis-benchmark -t set,get -n {args.n} -c {args.c} -P {args.pipeline} (best of {args.repeat})"
    label = {"fast": "hydrologic store, hiredis reader", "python": "hydrologic store, pure-Python parser"}
    rows: list[tuple[str, float, float]] = [(label[p], ours[p]["SET"], ours[p]["GET"]) for p in parsers]
    rows.append((f"redis-server {version.removeprefix('v=')}", theirs["SET"], theirs["GET"]))
    ratios = [(f"ratio {p} / redis", ours[p]["SET"] / theirs["SET"], ours[p]["GET"] / theirs["GET"]) for p in parsers]
    loads = " -> ".join(f"{x[0]:.1f}" for x in load if x)
    if args.markdown:
        print(f"{title}; load average (1 min) {loads}\n")
        print("| server | SET ops/s | GET ops/s |\n|---|---:|---:|")
        for name, s_, g in rows:
            print(f"| {name} | {s_:,.0f} | {g:,.0f} |")
        for name, s_, g in ratios:
            print(f"| {name} | {s_:.2f} | {g:.2f} |")
    else:
        print(f"{title}; load average (1 min) {loads}")
        print(f"{'server':<46}{'SET ops/s':>12}{'GET ops/s':>12}")
        for name, s_, g in rows:
            print(f"{name:<46}{s_:>12,.0f}{g:>12,.0f}")
        for name, s_, g in ratios:
            print(f"{name:<46}{s_:>12.2f}{g:>12.2f}")
    metrics = {}
    for p in parsers:
        for t in TESTS:
            metrics[f"{t} {p} / redis"] = metric(ours[p][t] / theirs[t], "higher", "x")
            metrics[f"{t} {p} ops/s"] = metric(ours[p][t], "higher", "ops/s")
    write_metrics(args.json, "redis", metrics, {"n": args.n, "c": args.c, "pipeline": args.pipeline, "repeat": args.repeat})


if __name__ == "__main__":
    main()
