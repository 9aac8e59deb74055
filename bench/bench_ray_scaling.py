"""Scaling on Ray: the sharded store and map-reduce with 1, 2 and 4 members, Ray beside Localhost.

Starts a local two-node Ray cluster (``ray start --head`` plus one more node, both on
127.0.0.1, each in its own process group; every Ray process is killed at the end, also on error
or Ctrl-C), then deploys each program twice in the same invocation, on ``hl.deploy.Localhost``
and right after on ``hl.deploy.Ray`` with the same members (so that both see about the same
machine load; ``--repeat R`` runs each R times and keeps the best rate and the shortest start):

* ``store ports xk``: examples/redis_sharded.py:build_ports, k shards, a port per shard;
  pipelined SETs (batches of 16, as ``redis-benchmark -t set -P 16``) from a load client in
  this process, its connections split between the ports;
* ``store front xk``: examples/redis_sharded.py:build, one Front routing to k shards;
* ``mapreduce xk``: examples/map_reduce.py:build with k mappers (1 driver + k mappers + 1
  reducer); documents of 20 words from a 500-word vocabulary, throughput in words per second
  (from the first document sent until every word is counted in the published totals), and the
  number of totals received (the reducer publishes a word's total once per tick that grew it,
  so fewer, larger ticks mean fewer messages for the same documents);

For each deployment it reports:

* the throughput, and the ratio Ray / Localhost;
* ``start``: seconds spent in ``start()``; ``first``: seconds from calling ``start()`` until the
  first output (every store port answers PING; the first word total of one document);
* the memory of every actor or process (RSS, and PSS, which splits shared pages between the
  processes sharing them), read from ``/proc/<pid>`` of ``pids()``;
* the channel connections: established TCP connections to the instances' internal ports
  (from ``/proc/net/tcp``), beside the count the graph predicts (one per sender instance ×
  receiver instance that share an edge), and the socket file descriptors of the actors;
* the driver's CPU time spent in ``start()``, and each instance's own CPU time when ``start()``
  returns (what booting one worker process or actor costs);
* on Ray, the size of one actor's configuration (it carries the deployment's secret, and the TLS
  material when TLS is on), and the driver's supervision cost: the wall time of one round of ``status`` calls to
  every actor (what the monitor thread does every 0.2 s), and the driver's CPU per second while
  the deployment idles, beside the same with no deployment.

Once per run it also reports the Ray processes that are not actors (GCS, raylets, agents, idle
workers) with their RSS, and the cost of the per-deployment TLS material for 2, 10 and 100 hosts
(generation time, size of what travels in every actor's configuration).

    python bench/bench_ray_scaling.py                     # members 1 2 4, every program
    python bench/bench_ray_scaling.py --repeat 2 --store-n 200000 --docs 50000   # python -m bench --full
    python bench/bench_ray_scaling.py --members 1 2 --only store-ports mapreduce --store-n 5000
    python bench/bench_ray_scaling.py --json PATH          # also write the metrics (python -m bench)

Without ``ray`` installed it says so and writes no Ray metrics.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
sys.path.insert(0, os.path.join(ROOT, "src"))

import hydrologic as hl  # noqa: E402

sys.path.insert(0, HERE)
from _results import cpu_seconds, load_average, metric, write_metrics  # noqa: E402

SHARDED = os.path.join(ROOT, "examples", "redis_sharded.py")
MAPREDUCE = os.path.join(ROOT, "examples", "map_reduce.py")
PAGE = os.sysconf("SC_PAGE_SIZE")

# Keep the driver and the nodes on loopback, without usage stats or token auth (as the tests do).
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


# ---- the local Ray cluster ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ray_cli() -> str:
    exe = os.path.join(os.path.dirname(sys.executable), "ray")
    return exe if os.path.exists(exe) else (shutil.which("ray") or "ray")


@contextlib.contextmanager
def ray_cluster(cpus: int) -> Iterator[tuple[str, list[int]]]:
    """A head and a second node on this machine; yields (address, the ``ray start`` pids).

    Each ``ray start --block`` runs in its own session, so its whole process group (GCS,
    raylet, agents, workers, actors) is killed at the end, whatever happened."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
    env["RAY_AUTH_MODE"] = "disabled"
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    temp = tempfile.mkdtemp(prefix="hlray")  # short: Ray puts unix sockets under it
    port = _free_port()
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address=127.0.0.1", f"--num-cpus={cpus}", "--disable-usage-stats", "--block"]
    procs: list[subprocess.Popen[bytes]] = []

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, on_signal)
    try:
        procs.append(subprocess.Popen(
            [_ray_cli(), "start", "--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp}",
             "--labels=hl-node=a", *common],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env,
        ))
        _wait_port(port, 90)
        procs.append(subprocess.Popen(
            [_ray_cli(), "start", f"--address={address}", "--labels=hl-node=b", *common],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env,
        ))
        yield address, [p.pid for p in procs]
    finally:
        for p in procs:
            _kill_group(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for p in procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _kill_group(p.pid, signal.SIGKILL)
            p.wait()
        shutil.rmtree(temp, ignore_errors=True)
        signal.signal(signal.SIGTERM, old)


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"the Ray head did not listen on port {port} within {timeout}s")


def wait_nodes(ray: Any, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while sum(bool(x["Alive"]) for x in ray.nodes()) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {n} Ray nodes alive after {timeout}s")
        time.sleep(0.2)


# ---- /proc --------------------------------------------------------------------------------------------


def rss_pss(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a live process in MiB (PSS 0 when smaps_rollup is not readable)."""
    with open(f"/proc/{pid}/statm") as f:
        rss = int(f.read().split()[1]) * PAGE / 2**20
    pss = 0.0
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) / 1024
                    break
    return rss, pss


def socket_fds(pid: int) -> set[int]:
    """The inodes of a process's sockets."""
    out: set[int] = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    out.add(int(link[8:-1]))
    return out


def established_to(ports: set[int]) -> int:
    """Established TCP connections whose local end is one of ``ports`` (the accepting side)."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[3] == "01" and int(parts[1].rsplit(":", 1)[1], 16) in ports:
                    n += 1
    return n


def children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            with contextlib.suppress(OSError):
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
    return kids


def descendants(roots: list[int]) -> list[int]:
    kids = children_map()
    out, todo = [], list(roots)
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def ray_role(pid: int) -> str:
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        if not cmd.strip():
            return "gone"  # a zombie
        for key, role in (("gcs_server", "GCS"), ("raylet", "raylet"), ("dashboard_agent", "dashboard agent"),
                          ("dashboard/agent.py", "dashboard agent"), ("runtime_env/agent", "runtime-env agent"),
                          ("runtime_env/agent", "runtime-env agent"), ("runtime_env_agent", "runtime-env agent"),
                          ("log_monitor", "log monitor"), ("monitor.py", "autoscaler monitor"),
                          ("ray::IDLE", "idle worker"), ("default_worker", "idle worker"), ("ray::", "worker"),
                          (" start ", "ray start (CLI)")):
            if key in cmd:
                return role
        script = next((w for w in cmd.split() if w.endswith(".py")), cmd.split()[0])
        return "other: " + "/".join(script.split("/")[-3:])
    return "gone"


# ---- measurements ----------------------------------------------------------------------------------


@dataclass
class Result:
    target: str
    program: str
    members: int
    instances: int
    start: float = 0.0  # seconds in start()
    first: float = 0.0  # seconds from start() to the first output
    rate: float = 0.0
    unit: str = ""
    rss: list[float] = field(default_factory=lambda: [])
    pss: list[float] = field(default_factory=lambda: [])
    links: int = 0  # established channel connections counted
    expected_links: int = 0  # predicted from the graph
    sockets: int = 0  # socket fds of all instances
    watch_round: float = 0.0  # Ray: seconds for one status round to every actor
    watch_cpu: float = 0.0  # Ray: driver CPU seconds for one status round
    driver_cpu: float = 0.0  # Ray: driver CPU seconds per second while idle
    spread: str = ""  # Ray: actors per node
    driver_start_cpu: float = 0.0  # driver CPU seconds spent in start()
    boot_cpu: list[float] = field(default_factory=lambda: [])  # each instance's CPU seconds when start() returned
    config_bytes: int = 0  # Ray: one actor's configuration (secret and TLS material included), JSON
    outputs: int = 0  # map-reduce: totals received (one per word per reducer tick that grew it)


def expected_links(d: Any) -> int:
    """One connection per (sender instance, receiver instance) with at least one edge between them."""
    total = 0
    for inst in d.instances:
        targets: set[tuple[int, int | None]] = set()
        for n in d.graph.nodes:
            if n.op == "network" and n.inputs[0].root is inst.loc:
                to = n.params["to"]
                members: list[int | None] = list(range(d.sizes[to.id])) if to.is_cluster else [None]
                targets.update((to.id, m) for m in members)
        total += len(targets)
    return total


def observe(d: Any, r: Result) -> None:
    pids = list(d.pids().values())
    for pid in pids:
        rss, pss = rss_pss(pid)
        r.rss.append(rss)
        r.pss.append(pss)
    ports = {p for _, p in d._internal.values()}
    r.links = established_to(ports)
    r.expected_links = expected_links(d)
    r.sockets = sum(len(socket_fds(pid)) for pid in pids)
    placement = getattr(d, "placement", None)
    if placement:
        per: dict[str, int] = {}
        for node in placement.values():
            per[node] = per.get(node, 0) + 1
        r.spread = "+".join(str(v) for _, v in sorted(per.items()))


def booted(d: Any, r: Result, driver_cpu0: float) -> None:
    """Right after start(): the driver's CPU spent in it, each instance's CPU so far (its boot)."""
    import json

    r.driver_start_cpu = cpu_seconds(os.getpid()) - driver_cpu0
    r.boot_cpu = [cpu_seconds(pid) for pid in d.pids().values()]
    if hasattr(d, "_config"):
        r.config_bytes = len(json.dumps(d._config(d.instances[0], 0, 0, {})))


def resp_ping(address: tuple[str, int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(address, timeout=2) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing answers PING at {address}")
        time.sleep(0.02)


def _set_batch(rnd: random.Random, pipeline: int) -> bytes:
    out = []
    for _ in range(pipeline):
        key = b"key:%012d" % rnd.randrange(1_000_000)
        out.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$3\r\nxxx\r\n" % (len(key), key))
    return b"".join(out)


def set_load(ports: list[tuple[str, int]], n: int, clients: int, pipeline: int) -> float:
    """``clients`` connections split over ``ports``, each sending batches of ``pipeline`` SETs of
    random keys and reading all replies before the next batch (``redis-benchmark -t set -P``,
    which this machine may not have); ``n`` requests in all. Returns requests per second."""
    import threading

    conns = [(ports[i % len(ports)], i) for i in range(max(clients, len(ports)))]
    per = max(1, n // (len(conns) * pipeline))
    batches = [_set_batch(random.Random(i), pipeline) for i in range(8)]
    expect = len(b"+OK\r\n") * pipeline
    errors: list[BaseException] = []

    def client(address: tuple[str, int], i: int) -> None:
        try:
            with socket.create_connection(address, timeout=60) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for b in range(per):
                    s.sendall(batches[(i + b) % len(batches)])
                    got = 0
                    while got < expect:
                        chunk = s.recv(65536)
                        if not chunk:
                            raise ConnectionError("the store closed the connection")
                        got += len(chunk)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=client, args=c) for c in conns]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"the load client failed: {errors[0]!r}")
    return per * pipeline * len(conns) / (time.perf_counter() - t0)


def run_store(deploy: Callable[[str, dict[str, int]], Any], target: str, front: bool, k: int, n: int, clients: int) -> Result:
    program = f"{SHARDED}:{'build' if front else 'build_ports'}"
    r = Result(target, f"store {'front' if front else 'ports'}", k, k + (1 if front else 0), unit="SET/s")
    t0, c0 = time.perf_counter(), cpu_seconds(os.getpid())
    with deploy(program, {"Shards": k}) as d:
        r.start = time.perf_counter() - t0
        booted(d, r, c0)
        ports = [d.address("redis")] if front else [d.address("redis", member=i) for i in range(k)]
        for p in ports:
            resp_ping(p, 120)
        r.first = time.perf_counter() - t0
        set_load(ports, max(1000, n // 10), clients, 16)  # warm up
        r.rate = set_load(ports, n, clients, 16)
        observe(d, r)
        if target == "Ray":
            supervision(d, r)
    return r


WORDS = [f"w{i}" for i in range(500)]


def documents(count: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    return [" ".join(rnd.choice(WORDS) for _ in range(20)) for _ in range(count)]


def run_mapreduce(deploy: Callable[[str, dict[str, int]], Any], target: str, k: int, docs: int) -> Result:
    r = Result(target, "mapreduce", k, k + 2, unit="words/s")
    batch = documents(docs)
    words = sum(len(doc.split()) for doc in batch)
    t0, c0 = time.perf_counter(), cpu_seconds(os.getpid())
    with deploy(f"{MAPREDUCE}:build", {"Mappers": k}) as d:
        r.start = time.perf_counter() - t0
        booted(d, r, c0)
        with d.output("totals") as totals, d.input("documents") as inp:
            inp.send("hello")
            word, _ = totals.recv(timeout=120)
            assert word == "hello"
            r.first = time.perf_counter() - t0
            final: dict[str, int] = {}
            t1 = time.perf_counter()
            inp.send_many(batch)
            while sum(final.values()) < words:
                w, total = totals.recv(timeout=120)
                r.outputs += 1
                if w != "hello":
                    final[w] = max(final.get(w, 0), total)
            r.rate = words / (time.perf_counter() - t1)
        observe(d, r)
        if target == "Ray":
            supervision(d, r)
    return r


def supervision(d: Any, r: Result) -> None:
    """The driver's cost of watching the actors: one status round, and its CPU while idle."""
    import ray

    handles = [a.handle for a in d._actors.values() if not a.gone]
    rounds = []
    cpu0 = cpu_seconds(os.getpid())
    for _ in range(ROUNDS):
        t = time.perf_counter()
        refs = [h.status.remote() for h in handles]
        ray.wait(refs, num_returns=len(refs), timeout=30)
        ray.get(refs)
        rounds.append(time.perf_counter() - t)
    r.watch_cpu = (cpu_seconds(os.getpid()) - cpu0) / ROUNDS
    r.watch_round = statistics.median(rounds)
    r.driver_cpu = idle_driver_cpu(2.0)


ROUNDS = 50


def idle_driver_cpu(seconds: float) -> float:
    t = cpu_seconds(os.getpid())
    time.sleep(seconds)
    return (cpu_seconds(os.getpid()) - t) / seconds


def connection_cost(n: int) -> tuple[float, float]:
    """Open ``n`` loopback connections with asyncio streams (as channels are), both ends in this
    process; (RSS MiB per connection, kernel socket memory KiB per connection from
    /proc/net/sockstat; noisy when other processes open or close sockets meanwhile)."""
    import asyncio
    import gc

    def sock_pages() -> int:
        with open("/proc/net/sockstat") as f:
            for line in f:
                if line.startswith("TCP:"):
                    parts = line.split()
                    return int(parts[parts.index("mem") + 1])
        return 0

    async def go() -> tuple[float, float]:
        accepted: list[Any] = []

        async def on_conn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append((reader, writer))
            await reader.read(1)  # idle until closed

        server = await asyncio.start_server(on_conn, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        gc.collect()
        rss0, mem0 = rss_pss(os.getpid())[0], sock_pages()
        conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(n)]
        for _, w in conns:  # one small frame each way, so both ends have allocated their buffers
            w.write(b"x" * 64)
            await w.drain()
        while len(accepted) < n:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        rss1, mem1 = rss_pss(os.getpid())[0], sock_pages()
        for _, w in conns:
            w.close()
        server.close()
        return (rss1 - rss0) / n, (mem1 - mem0) * PAGE / 1024 / n

    return asyncio.run(go())


def tls_cost(hosts: int) -> tuple[float, int]:
    """(seconds to generate the per-deployment material for ``hosts`` addresses, bytes per actor config)."""
    from hydrologic.net.tls import generate

    generate()  # warm up (imports)
    names = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(hosts)]
    t = time.perf_counter()
    m = generate(names)
    took = time.perf_counter() - t
    return took, len(m.ca) + len(m.cert) + len(m.key)


# ---- the run -------------------------------------------------------------------------------------


def table(results: list[Result]) -> None:
    local = {(r.program, r.members): r for r in results if r.target == "Localhost"}
    print()
    print("| program | k | instances | target | rate | Ray / Localhost | start() s | first output s "
          "| driver CPU in start() s | CPU per instance at start s | totals received |")
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        base = local.get((r.program, r.members))
        ratio = f"{r.rate / base.rate:.2f}" if r.target == "Ray" and base and base.rate else ""
        print(f"| {r.program} | {r.members} | {r.instances} | {r.target} | {r.rate:,.0f} {r.unit} | {ratio} | {r.start:.2f} "
              f"| {r.first:.2f} | {r.driver_start_cpu:.2f} | {statistics.mean(r.boot_cpu):.2f} | {r.outputs or ''} |", flush=True)
    print()
    print("| program | k | target | RSS MiB per instance | PSS MiB per instance | links (graph says) | socket fds "
          "| actors per node | status round ms (driver CPU ms) | driver CPU idle s/s | config bytes per actor |")
    print("|---|---:|---|---:|---:|---|---:|---|---:|---:|---:|")
    for r in results:
        ray_ = r.target == "Ray"
        rnd = f"{r.watch_round * 1e3:.1f} ({r.watch_cpu * 1e3:.1f})" if ray_ else ""
        cpu = f"{r.driver_cpu:.3f}" if ray_ else ""
        cfg = f"{r.config_bytes:,}" if ray_ else ""
        print(f"| {r.program} | {r.members} | {r.target} | {statistics.mean(r.rss):.0f} | {statistics.mean(r.pss):.0f} "
              f"| {r.links} ({r.expected_links}) | {r.sockets} | {r.spread} | {rnd} | {cpu} | {cfg} |", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, nargs="+", default=[1, 2, 4], help="shards / mappers")
    ap.add_argument("--only", nargs="+", choices=("store-ports", "store-front", "mapreduce"),
                    default=["store-ports", "store-front", "mapreduce"])
    ap.add_argument("--store-n", type=int, default=100_000, help="SET requests per run, 16 per batch")
    ap.add_argument("--c", type=int, default=8, help="client connections in all, split between the ports")
    ap.add_argument("--docs", type=int, default=5000, help="map-reduce documents per run (20 words each)")
    ap.add_argument("--cpus", type=int, default=2, help="--num-cpus of each Ray node")
    ap.add_argument("--tls-hosts", type=int, nargs="*", default=[2, 10, 100], help="host counts for the TLS material cost")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each configuration: the best rate is kept, "
                    "and the shortest start and time to first output")
    ap.add_argument("--connections", type=int, default=2000, help="loopback connections opened to measure the cost of one")
    ap.add_argument("--json", metavar="PATH", help="also write the metrics as JSON (for python -m bench)")
    a = ap.parse_args()
    print(f"{os.cpu_count()} cores; load average {load_average()}", flush=True)
    metrics: dict[str, dict[str, Any]] = {}
    config = {"members": a.members, "only": a.only, "repeat": a.repeat, "store_n": a.store_n, "docs": a.docs, "c": a.c}
    try:
        import ray
    except ImportError:
        print("ray is not installed (pip install 'hydrologic[ray]'): nothing to measure")
        write_metrics(a.json, "ray_scaling", metrics, config)
        return 0
    old_env = {k: os.environ.get(k) for k in RAY_ENV}
    os.environ.update(RAY_ENV)
    results: list[Result] = []
    driver_base = 0.0
    overhead: dict[str, list[float]] = {}
    t_cluster = time.perf_counter()
    with ray_cluster(a.cpus) as (address, roots):
        ray.init(address=address, logging_level="ERROR", log_to_driver=False)
        try:
            wait_nodes(ray, 2, 90)
            cluster_s = time.perf_counter() - t_cluster
            print(f"two-node Ray cluster up in {cluster_s:.1f} s", flush=True)
            driver_base = idle_driver_cpu(2.0)
            quiet = {"log": lambda _l: None, "log_level": "WARNING"}
            targets: list[tuple[str, Callable[[str, dict[str, int]], Any]]] = [
                ("Localhost", lambda p, s: hl.deploy.Localhost(**quiet).start(p, s)),  # type: ignore[arg-type]
                ("Ray", lambda p, s: hl.deploy.Ray(address, **quiet).start(p, s)),  # type: ignore[arg-type]
            ]
            programs: list[tuple[str, Callable[[Callable[[str, dict[str, int]], Any], str, int], Result]]] = []
            if "store-ports" in a.only:
                programs.append(("store-ports", lambda dep, name, k: run_store(dep, name, False, k, a.store_n, a.c)))
            if "store-front" in a.only:
                programs.append(("store-front", lambda dep, name, k: run_store(dep, name, True, k, a.store_n, a.c)))
            if "mapreduce" in a.only:
                programs.append(("mapreduce", lambda dep, name, k: run_mapreduce(dep, name, k, a.docs)))
            for k in a.members:
                for _, run in programs:
                    for name, deploy in targets:  # the pair back to back, so both see the same load
                        runs = [run(deploy, name, k) for _ in range(a.repeat)]
                        r = max(runs, key=lambda x: x.rate)
                        r.first = min(x.first for x in runs)
                        r.start = min(x.start for x in runs)
                        print(f"  {name:9} k={k}: {r.program:11} {r.rate:>9,.0f} {r.unit}, start() {r.start:.2f} s, "
                              f"first output {r.first:.2f} s; load {os.getloadavg()[0]:.1f}", flush=True)
                        results.append(r)
            for pid in descendants(roots):
                role = ray_role(pid)
                if role in ("gone", "worker"):  # "worker": a leftover actor process being reaped
                    continue
                with contextlib.suppress(OSError):
                    overhead.setdefault(role, []).append(rss_pss(pid)[0])
            driver_rss = rss_pss(os.getpid())[0]
        finally:
            ray.shutdown()
            for k, v in old_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    table(results)
    print(f"\nRay processes that are not actors (two nodes, after the run): "
          + ", ".join(f"{role} {len(v)} x {statistics.mean(v):.0f} MiB" for role, v in sorted(overhead.items()))
          + f"; in all {sum(sum(v) for v in overhead.values()):.0f} MiB RSS")
    print(f"driver (this process, Ray client included): {driver_rss:.0f} MiB RSS; idle CPU with no deployment "
          f"{driver_base:.3f} s/s; cluster start {cluster_s:.1f} s")
    per_rss, per_kernel = connection_cost(a.connections)
    print(f"one loopback connection with asyncio streams ({a.connections} opened): {per_rss * 1024:.1f} KiB RSS for its two "
          f"ends, {per_kernel:.1f} KiB kernel socket memory while idle, 2 file descriptors")
    metrics["connection RSS KiB (both ends)"] = metric(per_rss * 1024, "lower", "KiB")
    for h in a.tls_hosts:
        took, size = tls_cost(h)
        print(f"TLS material for {h} hosts: generated in {took * 1e3:.1f} ms, {size:,} bytes in every actor's configuration")
        metrics[f"tls material {h} hosts ms"] = metric(took * 1e3, "lower", "ms")
        metrics[f"tls material {h} hosts bytes"] = metric(size, "lower", "B")
    print(f"load average after: {load_average()}")

    local = {(r.program, r.members): r for r in results if r.target == "Localhost"}
    for r in results:
        key = f"{r.program} x{r.members} {r.target}"
        metrics[f"{key} rate"] = metric(r.rate, "higher", r.unit)
        metrics[f"{key} first output s"] = metric(r.first, "lower", "s")
        metrics[f"{key} RSS per instance MiB"] = metric(statistics.mean(r.rss), "lower", "MiB")
        metrics[f"{key} PSS per instance MiB"] = metric(statistics.mean(r.pss), "lower", "MiB")
        metrics[f"{key} channel links"] = metric(r.links, "lower", "")
        metrics[f"{key} driver CPU in start s"] = metric(r.driver_start_cpu, "lower", "s")
        metrics[f"{key} CPU per instance at start s"] = metric(statistics.mean(r.boot_cpu), "lower", "s")
        if r.target == "Ray":
            base = local.get((r.program, r.members))
            if base and base.rate:
                metrics[f"{r.program} x{r.members} Ray / Localhost"] = metric(r.rate / base.rate, "higher", "x")
                metrics[f"{r.program} x{r.members} first output Ray - Localhost s"] = metric(r.first - base.first, "lower", "s")
            metrics[f"{key} status round per actor ms"] = metric(r.watch_round * 1e3 / r.instances, "lower", "ms")
            metrics[f"{key} status round driver CPU per actor ms"] = metric(r.watch_cpu * 1e3 / r.instances, "lower", "ms")
            metrics[f"{key} driver CPU idle s/s"] = metric(r.driver_cpu, "lower", "s/s")
    metrics["ray non-actor processes RSS MiB"] = metric(sum(sum(v) for v in overhead.values()), "lower", "MiB")
    metrics["ray cluster start s"] = metric(cluster_s, "lower", "s")
    metrics["driver idle CPU no deployment s/s"] = metric(driver_base, "lower", "s/s")
    write_metrics(a.json, "ray_scaling", metrics, config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
