"""How long a SIGKILLed process takes to come back and serve, against starting from scratch.

For each program and role (a process, and one member of a cluster), SIGKILL the role ``--kills``
times, each time while a client probes it, and measure from the SIGKILL to

  * **death logged**: the supervisor logged "exited unexpectedly (killed by SIGKILL)";
  * **restarted**: the supervisor logged "restarted (incarnation N)" (the new process reported
    started: it is bound, connected to its peers and ticking);
  * **serving**: the first reply, through the External ports, to a request sent after the kill
    and routed through the killed role.

The baseline, measured in the same run, is a cold start of the same program:
``Localhost().start(...)`` to the first reply.

Programs: ``restart_programs.py:relay`` (an echo through a cluster: the client's requests go
to a Front process, which forwards each to the member it names; roles Front and Workers/1) and
``examples/partitioned_counter.py`` (roles Router and Shards/1, probed with reads of fresh keys
owned by the shard).

The restart policy is ``RestartPolicy(backoff=--backoff, within=1.0)`` and kills are more than
a second apart, so every restart waits the first backoff (the doubling never starts).

    python bench/bench_restart.py [--kills 10] [--starts 5] [--backoff 0.05]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import signal
import statistics
import sys
import time
import zlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "src"))

from hydrologic.deploy import LocalDeployment, Localhost  # noqa: E402
from hydrologic.deploy.supervision import RestartPolicy  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import metric, write_metrics  # noqa: E402
from hydrologic.net.client import InputClient, OutputClient, connect_input, connect_output  # noqa: E402
from hydrologic.net.errors import NetError  # noqa: E402

TIMEOUT = 30.0


@dataclass(frozen=True)
class Program:
    """A program to kill, how to address a request through a role, and how to recognise its reply."""

    name: str
    address: str
    sizes: dict[str, int]
    roles: list[str]
    request_port: str
    reply_port: str
    request: Callable[[str, int], Any]  # (role, n) -> a request through that role, unique per n
    reply_of: Callable[[Any], int | None]  # a reply -> the n of the request it answers (None: not a probe)


def shard_of(key: str, shards: int) -> int:
    """The member ``std.partition_by_key`` sends ``key`` to."""
    return zlib.crc32(repr(key).encode()) % shards


def counter_probe(role: str, n: int) -> str:
    """A fresh key (never incremented) owned by Shards/1 when probing it, any shard otherwise."""
    if not role.startswith("Shards/"):
        return f"probe-{n}"
    want = int(role.split("/")[1])
    return next(k for k in (f"probe-{n}-{i}" for i in range(10_000)) if shard_of(k, 3) == want)


def relay_reply(value: Any) -> int | None:
    """``[member, "P<n>"]`` -> n."""
    text = str(value[1]) if isinstance(value, list) and len(value) == 2 else ""  # pyright: ignore[reportUnknownArgumentType]
    return int(text[1:]) if text.startswith("P") else None


def counter_reply(value: Any) -> int | None:
    key = str(value[0])
    return int(key.split("-")[1]) if key.startswith("probe-") else None


PROGRAMS = [
    Program(
        "relay (echo through a cluster)",
        f"{HERE}/restart_programs.py:relay",
        {"Workers": 2},
        ["Front", "Workers/1"],
        "in",
        "out",
        lambda role, n: [1, f"p{n}"],  # through member 1 (and, always, the Front)
        lambda v: relay_reply(v),
    ),
    Program(
        "examples/partitioned_counter.py",
        f"{ROOT}/examples/partitioned_counter.py:build",
        {"Shards": 3},
        ["Router", "Shards/1"],
        "get",
        "value",
        counter_probe,
        counter_reply,
    ),
]


class Client:
    """A probing client: reconnects whenever its server is gone."""

    def __init__(self, d: LocalDeployment, prog: Program) -> None:
        self.d, self.prog = d, prog
        self.inp: InputClient | None = None
        self.out: OutputClient | None = None
        self.n = 0  # the number of the next request

    def _connect(self) -> None:
        self.close()
        p, q = self.d.port(self.prog.request_port), self.d.port(self.prog.reply_port)
        self.out = connect_output(q.address, q.codec, timeout=TIMEOUT)
        self.inp = connect_input(p.address, p.codec, timeout=TIMEOUT)

    def close(self) -> None:
        for c in (self.inp, self.out):
            if c is not None:
                c.close()
        self.inp = self.out = None

    def serve(self, role: str, deadline: float, every: float = 0.005) -> float:
        """Send new requests through ``role`` every ``every`` seconds until one of them is
        answered (replies to earlier requests are skipped); returns when (``perf_counter``)."""
        first = self.n
        while time.perf_counter() < deadline:
            try:
                if self.inp is None or self.out is None:
                    self._connect()
                assert self.inp is not None and self.out is not None
                self.inp.send(self.prog.request(role, self.n))
                self.n += 1
                reply = self.out.recv(every)
                answered = self.prog.reply_of(reply)
                if answered is not None and answered >= first:
                    return time.perf_counter()
            except TimeoutError:
                continue
            except (OSError, NetError):  # the server died: reconnect (it may not be back yet)
                self.close()
                time.sleep(every)
        raise RuntimeError(f"{self.prog.name}: {role} did not serve within {TIMEOUT:g}s")


def line_time(logs: list[tuple[float, str]], pattern: str, after: float) -> float | None:
    rx = re.compile(pattern)
    return next((t for t, line in list(logs) if t >= after and rx.search(line)), None)


def wait_line(logs: list[tuple[float, str]], pattern: str, after: float) -> float:
    deadline = time.perf_counter() + TIMEOUT
    while time.perf_counter() < deadline:
        t = line_time(logs, pattern, after)
        if t is not None:
            return t
        time.sleep(0.005)
    raise RuntimeError(f"no log line matching {pattern!r} within {TIMEOUT:g}s")


def measure_kills(prog: Program, role: str, kills: int, backoff: float) -> list[tuple[float, float, float]]:
    """``kills`` × (death logged, restarted, serving), in seconds after the SIGKILL."""
    logs: list[tuple[float, str]] = []
    policy = RestartPolicy(backoff=backoff, within=1.0)
    out: list[tuple[float, float, float]] = []
    with Localhost(log=lambda line: logs.append((time.perf_counter(), line)), on_failure=policy).start(
        prog.address, prog.sizes
    ) as d:
        client = Client(d, prog)
        client.serve(role, time.perf_counter() + TIMEOUT)
        for incarnation in range(1, kills + 1):
            time.sleep(1.2)  # outside the policy's window: every restart waits the first backoff
            pid = d.pids()[role]
            t0 = time.perf_counter()
            os.kill(pid, signal.SIGKILL)
            serving = client.serve(role, t0 + TIMEOUT)
            died = wait_line(logs, rf"{re.escape(role)} \(pid {pid}\) exited unexpectedly", t0)
            restarted = wait_line(logs, rf"{re.escape(role)} restarted \(incarnation {incarnation}\)", t0)
            out.append((died - t0, restarted - t0, serving - t0))
        client.close()
        assert not d.failed
    return out


def measure_cold_starts(prog: Program, starts: int) -> list[float]:
    """``Localhost().start(...)`` to the first reply, ``starts`` times."""
    out: list[float] = []
    for _ in range(starts):
        t0 = time.perf_counter()
        with Localhost(log=lambda _line: None).start(prog.address, prog.sizes) as d:
            client = Client(d, prog)
            out.append(client.serve(prog.roles[-1], t0 + TIMEOUT) - t0)
            client.close()
    return out


def summary(xs: list[float]) -> str:
    """median / p90 / max in ms (p90: nearest rank)."""
    s = sorted(xs)
    p90 = s[max(0, -(-9 * len(s) // 10) - 1)]
    return f"{statistics.median(s) * 1000:6.0f} {p90 * 1000:6.0f} {s[-1] * 1000:6.0f}"


METRICS: dict[str, dict[str, Any]] = {}


def rows(args: argparse.Namespace) -> Iterator[str]:
    head = f"{'program':32} {'role':10} {'n':>3}   {'death logged':^20}   {'restarted':^20}   {'serving':^20}"
    yield head
    yield f"{'':32} {'':10} {'':>3}   " + "   ".join([f"{'median':>6} {'p90':>6} {'max':>6}"] * 3)
    yield "-" * len(head)
    for prog in PROGRAMS:
        for role in prog.roles:
            got = measure_kills(prog, role, args.kills, args.backoff)
            cols = [summary([g[i] for g in got]) for i in range(3)]
            METRICS[f"{prog.name} {role} serving median ms"] = metric(statistics.median([g[2] for g in got]) * 1e3, "lower", "ms")
            yield f"{prog.name:32} {role:10} {len(got):>3}   " + "   ".join(cols)
        cold = measure_cold_starts(prog, args.starts)
        METRICS[f"{prog.name} cold start median ms"] = metric(statistics.median(cold) * 1e3, "lower", "ms")
        yield f"{prog.name:32} {'cold start':10} {len(cold):>3}   {'':20}   {'':20}   {summary(cold)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=10, help="kills per role (default 10)")
    parser.add_argument("--starts", type=int, default=5, help="cold starts per program (default 5)")
    parser.add_argument("--backoff", type=float, default=0.05, help="the restart policy's backoff in seconds (default 0.05)")
    parser.add_argument("--json", metavar="PATH", help="also write the medians as JSON (for python -m bench)")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus, "
        f"load average {load[0]:.1f}; kills={args.kills}, starts={args.starts}, backoff={args.backoff:g}s; "
        "ms after the SIGKILL (cold start: ms after start())"
    )
    for row in rows(args):
        print(row, flush=True)
    write_metrics(args.json, "restart", METRICS, {"kills": args.kills, "starts": args.starts, "backoff": args.backoff})
    return 0


if __name__ == "__main__":
    sys.exit(main())
