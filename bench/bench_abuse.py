"""External ports under abuse: what one bad client costs everyone else.

Against the single-node Redis-protocol store (``examples/redis_store.py``) and the Paxos-replicated
one (``examples/redis_replicated.py``: a gateway, 3 replicas, 3 acceptors), each deployed on
Localhost:

* **latency**: 4 well-behaved clients (redis-py, each doing a SET or a GET every ``--interval``
  seconds, 20 ms by default, one at a time) for ``--seconds``; p50 / p99 / max of their round trips, alone, then beside one abusive
  client that starts with them, pipelines 100,000 SETs in one go and never reads a reply. A
  request's latency counts from when it was due, so a stall counts for every request it delayed
  (no coordinated omission);
* **memory**: 8 connections each declaring a 15 MiB SET and sending its body slowly (256 KiB at
  a time, all connections in turn); the peak RSS of the process serving the port (``VmHWM``),
  and how many of the 8 requests were refused.

    python bench/bench_abuse.py [--seconds 8] [--interval 0.02] [--pipeline 100000] [--only single|replicated]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(ROOT, "src"))

import redis  # noqa: E402

from hydrologic.deploy import LocalDeployment, Localhost  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import metric, write_metrics  # noqa: E402

STORES: dict[str, tuple[str, dict[str, int] | None, str]] = {
    # name: (program, cluster sizes, label of the process serving the port)
    "single": (os.path.join(ROOT, "examples", "redis_store.py") + ":build", None, "Server"),
    "replicated": (os.path.join(ROOT, "examples", "redis_replicated.py") + ":build", {"Replicas": 3, "Acceptors": 3}, "Gateway"),
}


def wait_ready(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, protocol=2)
            r.set("ready", "1")
            r.close()
            return
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def good_clients(port: int, seconds: float, n: int = 4, interval: float = 0.02, during: Any = None) -> list[float]:
    """Round-trip latencies (seconds) of ``n`` clients, each doing a SET or a GET every ``interval``
    seconds for ``seconds``. Each request is due at a fixed time, and its latency is counted from
    then (not from when it could be sent): a stall of the server counts for every request it
    delayed, as a user would see it, not just for the one that was waiting. ``during()`` is
    called once the clients are running (to start an abusive client)."""
    lat: list[list[float]] = [[] for _ in range(n)]
    errors: list[BaseException] = []
    start = time.perf_counter() + 0.2
    stop_at = start + seconds

    def run(i: int) -> None:
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=60, protocol=2)
        try:
            r.ping()  # pyright: ignore[reportUnknownMemberType]
            k = 0
            while True:
                due = start + k * interval + i * interval / n
                if due >= stop_at:
                    break
                now = time.perf_counter()
                if due > now:
                    time.sleep(due - now)
                if k % 2 == 0:
                    r.set(f"good:{i}", str(k))
                else:
                    r.get(f"good:{i}")
                lat[i].append(time.perf_counter() - due)
                k += 1
        except BaseException as e:  # noqa: BLE001 - reported by the caller
            errors.append(e)
        finally:
            r.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    if during is not None:
        time.sleep(max(0.0, start - time.perf_counter()))
        during()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"a well-behaved client failed: {errors[0]!r}")
    return [x for xs in lat for x in xs]


def pipeline_payload(n: int) -> bytes:
    return b"".join(b"*3\r\n$3\r\nSET\r\n$8\r\nab:%05d\r\n$1\r\nx\r\n" % (i % 100_000) for i in range(n))


class Abuser:
    """One connection that sends ``payload`` as fast as the server takes it and never reads."""

    def __init__(self, port: int, payload: bytes) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.payload = payload
        self.sent_all = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.sock.sendall(self.payload)
            self.sent_all.set()
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


METRICS: dict[str, dict[str, Any]] = {}


def latency_rows(name: str, seconds: float, pipeline: int, interval: float) -> list[str]:
    program, sizes, _ = STORES[name]
    rows: list[str] = []
    with Localhost(log=lambda _: None, log_level="WARNING").start(program, sizes) as d:
        port = d.port("redis").port
        wait_ready(port)
        good_clients(port, 1.0)  # warm up
        alone = good_clients(port, seconds, interval=interval)
        rows.append(_row(name, "alone", alone))
        METRICS[f"{name} alone p99 ms"] = metric(pct(alone, 0.99) * 1e3, "lower", "ms")
        payload = pipeline_payload(pipeline)
        abusers: list[Abuser] = []
        try:
            beside = good_clients(port, seconds, interval=interval, during=lambda: abusers.append(Abuser(port, payload)))
        finally:
            for a in abusers:
                a.close()
        rows.append(_row(name, f"beside 1 client pipelining {pipeline:,} SETs, never reading", beside))
        METRICS[f"{name} beside abuser p99 ms"] = metric(pct(beside, 0.99) * 1e3, "lower", "ms")
    return rows


def _row(name: str, case: str, lat: list[float]) -> str:
    return (
        f"| {name} | {case} | {len(lat):,} | {statistics.median(lat) * 1e3:.2f} | {pct(lat, 0.99) * 1e3:.1f} "
        f"| {max(lat) * 1e3:.0f} |"
    )


# ---- memory: slow big bodies ------------------------------------------------------------------------


def _status(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def slow_bodies(d: LocalDeployment, label: str, conns: int = 8, body: int = 15 << 20, chunk: int = 256 << 10) -> tuple[int, int, int]:
    """(RSS before, peak RSS, requests refused) of the port's process under the attack."""
    pid = d.pids()[label]
    before = _status(pid, "VmRSS")
    socks = [socket.create_connection(("127.0.0.1", d.port("redis").port)) for _ in range(conns)]
    head = b"*3\r\n$3\r\nSET\r\n$4\r\nbig!\r\n$%d\r\n" % body
    alive = list(socks)
    for s in socks:
        s.sendall(head)
    data = b"x" * chunk
    sent = 0
    while sent < body - chunk and alive:
        for s in list(alive):
            try:
                s.sendall(data)
            except OSError:  # refused and closed by the server
                alive.remove(s)
        sent += chunk
        time.sleep(0.02)
    time.sleep(0.5)
    peak = _status(pid, "VmHWM")
    refused = 0
    for s in socks:
        s.settimeout(0.5)
        try:
            reply = s.recv(4096)
            refused += reply.startswith(b"-")
        except OSError:
            refused += s not in alive
        s.close()
    return before, peak, refused


def memory_row(name: str) -> str:
    program, sizes, label = STORES[name]
    with Localhost(log=lambda _: None, log_level="WARNING").start(program, sizes) as d:
        wait_ready(d.port("redis").port)
        before, peak, refused = slow_bodies(d, label)
    mib = 1 << 20
    return f"| {name} | {before / mib:.0f} MiB | {peak / mib:.0f} MiB | {refused} of 8 |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0, help="how long the well-behaved clients run per case")
    ap.add_argument("--interval", type=float, default=0.02, help="seconds between two requests of a well-behaved client")
    ap.add_argument("--pipeline", type=int, default=100_000, help="commands the abusive client pipelines")
    ap.add_argument("--only", choices=sorted(STORES), help="run one store only")
    ap.add_argument("--no-memory", action="store_true", help="skip the slow-bodies memory runs")
    ap.add_argument("--json", metavar="PATH", help="also write the latencies as JSON (for python -m bench)")
    args = ap.parse_args()
    names = [args.only] if args.only else list(STORES)
    print(f"| store | 4 well-behaved clients (a request every {args.interval * 1e3:g} ms each) | round trips | p50 ms | p99 ms | max ms |")
    print("|---|---|---:|---:|---:|---:|")
    for name in names:
        for row in latency_rows(name, args.seconds, args.pipeline, args.interval):
            print(row, flush=True)
    if not args.no_memory:
        print()
        print("| store | RSS before | peak RSS, 8 x 15 MiB slow bodies | requests refused |")
        print("|---|---:|---:|---:|")
        for name in names:
            print(memory_row(name), flush=True)
    write_metrics(args.json, "abuse", METRICS, {"seconds": args.seconds, "interval": args.interval, "pipeline": args.pipeline})


if __name__ == "__main__":
    main()
