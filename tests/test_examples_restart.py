"""kill -9 under load: every role of echo, chat, the partitioned counter and map-reduce is
SIGKILLed while its client is sending, and comes back through supervision.

Each test deploys an example with ``Localhost(on_failure=RestartPolicy(backoff=0.05))``, drives
it through its External ports with a client thread that writes a batch every ``PERIOD`` seconds
and reads every reply, and SIGKILLs one role (a process, or one member of a cluster) right
after a batch was written, so requests are in flight. Then it checks:

1. the service answers again (a request sent after the kill, through the killed role, is
   answered) within ``BOUND`` seconds; the time is measured and printed (``pytest -s``);
2. what the channels promise (docs/deployment.md, "Faults and restarts"): within one
   incarnation an ordered stream has no duplicate, no reordering and no gap; what a dead
   incarnation had in flight may be lost; nothing is counted twice; and whatever the example
   keeps in a process that was *not* killed is not lost;
3. the deployment kept running (``not d.failed``), and each kill was logged exactly once as a
   death ("restarting it in") and once as a restart ("restarted (incarnation N)").

A client connection lives as long as the process it is connected to: when that process dies
the client sees EOF or a reset and reconnects, so the n-th connection of a client to a port of
a killed process talks to incarnation n.

The CLI path (``python -m hydrologic run``) is tested for echo and the partitioned counter: the
workers are found as children of the CLI process, killed in turn, and the service must answer
again through the External ports printed on stdout.
"""

from __future__ import annotations

import bisect
import os
import re
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest

from examples_support import ROOT, alive, example_path
from hydrologic.deploy import LocalDeployment, Localhost
from hydrologic.deploy.supervision import RestartPolicy
from hydrologic.net.client import InputClient, OutputClient, connect_input, connect_output
from hydrologic.net.errors import NetError

pytestmark = pytest.mark.timeout(90)

PERIOD = 0.02
"""Seconds between two batches of the client thread."""
BOUND = 20.0
"""Seconds within which a killed role must be restarted and serving again (measured: 0.3-1.1 s)."""
KILLS = 2
"""Kills per role and test: incarnations 1 and 2."""


# ---- the client side: connections that outlive the process they talk to ------------------------


class Link:
    """One client connection to an External port, reconnected when its server dies.

    ``epochs[n]`` is what was sent (input) or received (output) on the n-th connection, as
    ``(monotonic time, value)``; for a port of a killed process, connection n is incarnation n.
    """

    def __init__(self, d: LocalDeployment, port: str, kind: str) -> None:
        self.d, self.port, self.kind = d, port, kind
        self.epochs: list[list[tuple[float, Any]]] = []
        self.history: list[str] = []  # how each connection started and ended (for failure messages)
        self.client: InputClient | OutputClient
        self.connect()

    def connect(self) -> None:
        p = self.d.port(self.port)
        if self.kind == "input":
            self.client = connect_input(p.address, p.codec, timeout=BOUND)
        else:
            self.client = connect_output(p.address, p.codec, timeout=BOUND)
        self.epochs.append([])
        self.history.append(f"{time.monotonic():.3f} {self.client.sock.getsockname()[1]}->{p.port}")

    @property
    def current(self) -> list[tuple[float, Any]]:
        return self.epochs[-1]

    def values(self, epoch: int | None = None) -> list[Any]:
        es = self.epochs if epoch is None else [self.epochs[epoch]]
        return [v for e in es for _, v in e]

    def send(self, values: list[Any]) -> bool:
        """Send a batch (recorded as sent even if the connection turns out to be dead)."""
        assert isinstance(self.client, InputClient)
        now = time.monotonic()
        self.current.extend((now, v) for v in values)
        try:
            self.client.send_many(values)
            return True
        except OSError as e:
            self.history.append(f"{time.monotonic():.3f} {e!r}")
            return False

    def poll(self, timeout: float) -> bool:
        """Read what has arrived (waiting up to ``timeout`` for the first); False at EOF/reset."""
        assert isinstance(self.client, OutputClient)
        try:
            while True:
                value = self.client.recv(timeout)
                self.current.append((time.monotonic(), value))
                timeout = 0.001
        except TimeoutError:
            return True
        except (NetError, OSError) as e:
            self.history.append(f"{time.monotonic():.3f} {e!r}")
            return False

    def close(self) -> None:
        self.client.close()


class Load(threading.Thread):
    """The client thread: every ``PERIOD`` it writes ``step()``'s batches, then reads every
    output until the next period, reconnecting any connection whose server died."""

    def __init__(self, dep: Deployed, inputs: list[Link], outputs: list[Link], step: Callable[[], dict[int, list[Any]]]) -> None:
        super().__init__(name="restart-test-client", daemon=True)
        dep.loads.append(self)  # stopped at teardown, also when the test fails
        self.inputs, self.outputs, self.step = inputs, outputs, step
        self.halt = threading.Event()
        self.error: BaseException | None = None
        self.batches = 0
        self._kill: Callable[[], None] | None = None
        self.killed: list[int] = []

    def describe(self) -> str:
        """Values per connection of every link, and the thread's state (for failure messages)."""
        links = ", ".join(f"{l.port}: {[len(e) for e in l.epochs]} {l.history}" for l in self.inputs + self.outputs)
        return f"client {'running' if self.is_alive() else 'stopped'} ({self.error!r}); {links}"

    def kill_after_next_batch(self, kill: Callable[[], None]) -> None:
        self._kill = kill

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                start = time.monotonic()
                broken: list[Link] = []
                for i, values in self.step().items():
                    if values and not self.inputs[i].send(values):
                        broken.append(self.inputs[i])
                self.batches += 1
                kill, self._kill = self._kill, None
                if kill is not None:
                    kill()  # right after a batch was written: requests are in flight
                while True:
                    for link in self.outputs:
                        if link not in broken and not link.poll(0.002):
                            broken.append(link)
                    if broken or time.monotonic() >= start + PERIOD:
                        break
                if broken:
                    # A dying process closes its sockets one by one, so a reconnect right after
                    # one connection ended can land in the backlog of its listening socket and
                    # be reset a moment later. Wait until it has exited, so that connection n
                    # is incarnation n.
                    wait_for(lambda: not any(exiting(p) for p in self.killed), 10, "the killed process to exit")
                for link in broken:
                    link.close()
                    link.connect()
        except BaseException as e:  # reported by settle() and in failure messages
            self.error = e

    def settle(self, quiet: float = 1.0, timeout: float = BOUND) -> None:
        """Stop sending, then read until nothing has arrived for ``quiet`` seconds."""
        self.halt.set()
        self.join(BOUND + 10)
        assert not self.is_alive(), "the client thread did not stop"
        if self.error is not None:
            raise self.error
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() - last < quiet and time.monotonic() < deadline:
            before = sum(len(l.current) for l in self.outputs)
            for link in self.outputs:
                assert link.poll(0.05), f"the connection to {link.port!r} ended while settling"
            if sum(len(l.current) for l in self.outputs) != before:
                last = time.monotonic()


def exiting(pid: int) -> bool:
    """Whether process ``pid`` may still hold its sockets: some thread of it has not finished
    exiting. (Its files are closed by the last thread to exit, after the main thread may already
    be a zombie; ``/proc/PID/fd`` reads empty from the moment closing starts, so it cannot tell.)"""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return False
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                    return True
        except (FileNotFoundError, ProcessLookupError):
            pass
    return False


# ---- deployments, kills and their log lines ------------------------------------------------------


@dataclass
class Deployed:
    d: LocalDeployment
    logs: list[tuple[float, str]]  # (monotonic time, line) of every line the deployment logged
    loads: list[Load] = field(default_factory=lambda: [])

    def first_line(self, pattern: str, after: float = 0.0) -> float | None:
        for t, line in list(self.logs):
            if t >= after and re.search(pattern, line):
                return t
        return None


@dataclass
class Kill:
    label: str
    pid: int
    incarnation: int  # the one it comes back as
    at: float
    in_flight: int  # values the client had sent and not yet seen answered at the kill
    detected: float = 0.0  # when the supervisor logged the death
    restarted: float = 0.0  # when the supervisor logged the restart
    serving: float = 0.0  # when the first request sent after the kill, through the killed role, was answered


@pytest.fixture
def launch() -> Iterator[Callable[..., Deployed]]:
    started: list[Deployed] = []

    def go(name: str, sizes: dict[str, int] | None = None) -> Deployed:
        logs: list[tuple[float, str]] = []
        d = Localhost(log=lambda line: logs.append((time.monotonic(), line)), on_failure=RestartPolicy(backoff=0.05)).start(
            f"{example_path(name)}:build", sizes
        )
        started.append(Deployed(d, logs))
        return started[-1]

    yield go
    pids: list[int] = []
    for dep in started:
        for load in dep.loads:
            load.halt.set()
        for load in dep.loads:
            load.join(BOUND + 10)
        pids += list(dep.d.pids().values())
        dep.d.stop()
    survivors = [p for p in pids if alive(p)]
    assert not survivors, f"children survived stop(): {survivors}"


def wait_for(pred: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def kill_under_load(
    dep: Deployed,
    load: Load,
    label: str,
    incarnation: int,
    in_flight: Callable[[], int],
    served: Callable[[float], float | None],
) -> Kill:
    """SIGKILL ``label`` right after the client's next batch; wait until it is restarted and
    ``served(kill time)`` returns when a request sent after the kill was answered."""
    pid = dep.d.pids()[label]
    box: list[Kill] = []

    def kill() -> None:
        n = in_flight()
        t = time.monotonic()
        load.killed.append(pid)
        os.kill(pid, signal.SIGKILL)
        box.append(Kill(label, pid, incarnation, t, n))

    load.kill_after_next_batch(kill)
    k: Kill = wait_for(lambda: box and box[0], 10, f"the client thread to kill {label}")
    death = rf"{re.escape(label)} \(pid {pid}\) exited unexpectedly"
    k.detected = wait_for(lambda: dep.first_line(death, k.at), BOUND, f"the death of {label} to be logged")
    line = rf"{re.escape(label)} restarted \(incarnation {incarnation}\)"
    k.restarted = wait_for(lambda: dep.first_line(line, k.at), BOUND, f"{label!r} restarted (incarnation {incarnation})")
    try:
        k.serving = wait_for(lambda: served(k.at), BOUND, f"an answer through {label} after the kill")
    except AssertionError as e:
        logs = "\n".join(f"  {t - k.at:+.3f} {l}" for t, l in dep.logs if t >= k.at - 1)
        raise AssertionError(f"{e}\n{load.describe()}\nlog since the kill:\n{logs}") from None
    assert load.is_alive(), load.describe()
    time.sleep(0.3)  # the new incarnation serves under load for a while before the next kill
    return k


def check_supervision(dep: Deployed, kills: list[Kill], name: str) -> None:
    """The deployment kept running and logged each kill once as a death and once as a restart."""
    d, lines = dep.d, [l for _, l in dep.logs]
    assert not d.failed and not d.wait(0), "the deployment stopped"
    assert len(d.failures) == len(kills), d.failures
    assert sum("restarting it in" in l for l in lines) == len(kills), [l for l in lines if "[hydrologic]" in l]
    assert sum(bool(re.search(r"restarted \(incarnation \d+\)", l)) for l in lines) == len(kills)
    assert not any("giving up" in l for l in lines)
    for k in kills:
        death = rf"{re.escape(k.label)} \(pid {k.pid}\) exited unexpectedly \(killed by SIGKILL\); restarting it in "
        assert sum(bool(re.search(death, l)) for l in lines) == 1, (k, lines)
        assert sum(f"{k.label} restarted (incarnation {k.incarnation})" in l for l in lines) == 1, (k, lines)
        assert k.serving - k.at < BOUND
        print(
            f"\n{name}: SIGKILL {k.label} (incarnation {k.incarnation - 1}, {k.in_flight} value(s) in flight): "
            f"death logged after {(k.detected - k.at) * 1000:.0f} ms, restarted after {(k.restarted - k.at) * 1000:.0f} ms, "
            f"serving after {(k.serving - k.at) * 1000:.0f} ms",
            end="",
        )


def first_after(events: list[tuple[float, Any]], t: float, pred: Callable[[Any], bool] = lambda _: True) -> float | None:
    for at, v in events:
        if at >= t and pred(v):
            return at
    return None


# ---- echo -----------------------------------------------------------------------------------------


def test_echo_server_killed_under_load(launch: Callable[..., Deployed]) -> None:
    """Echo has no state: each incarnation's replies are, in order, a prefix of the lines sent to
    it (no duplicate, no reordering, no gap); the lines in flight at the kill may be lost."""
    dep = launch("echo")
    inp, out = Link(dep.d, "in", "input"), Link(dep.d, "out", "output")
    counter = iter(range(10**9))
    load = Load(dep, [inp], [out], lambda: {0: [f"line {next(counter)}" for _ in range(20)]})
    load.start()
    wait_for(lambda: len(out.current) > 100, BOUND, "replies before the first kill")

    def served(t: float, n: int) -> float | None:  # a reply from incarnation n to a line sent after the kill
        return first_after(out.epochs[n], t) if len(out.epochs) > n else None

    kills = [
        kill_under_load(dep, load, "Server", n, lambda: len(inp.current) - len(out.current), lambda t, n=n: served(t, n))
        for n in range(1, KILLS + 1)
    ]
    wait_for(lambda: len(out.current) > 100, BOUND, "replies from the last incarnation")
    load.settle()

    assert len(inp.epochs) == len(out.epochs) == KILLS + 1  # one connection per incarnation
    for e in range(KILLS + 1):
        sent, got = inp.values(e), out.values(e)
        assert got == [s.upper() for s in sent[: len(got)]], f"incarnation {e}: not an in-order prefix of what was sent"
        assert len(got) > 0
    assert out.values(KILLS) == [s.upper() for s in inp.values(KILLS)], "the last incarnation lost a line without a crash"
    assert all(k.in_flight > 0 for k in kills)
    check_supervision(dep, kills, "echo")


# ---- chat -----------------------------------------------------------------------------------------


def test_chat_room_killed_under_load(launch: Callable[..., Deployed]) -> None:
    """Within an incarnation every viewer sees consecutive numbers, the viewers agree on what each
    number is, and no message is shown twice. The room's numbering is in memory only: a
    restarted room numbers from 0 again, so a number identifies a message per incarnation."""
    dep = launch("chat")
    ada, bob = Link(dep.d, "say", "input"), Link(dep.d, "say", "input")
    views = [Link(dep.d, "room", "output"), Link(dep.d, "room", "output")]
    counter = iter(range(10**9))

    def step() -> dict[int, list[Any]]:
        return {i: [{"user": user, "text": f"{user}{next(counter)}"} for _ in range(5)] for i, user in enumerate(("ada", "bob"))}

    load = Load(dep, [ada, bob], views, step)
    load.start()
    wait_for(lambda: min(len(v.current) for v in views) > 50, BOUND, "messages shown before the first kill")

    def served(t: float, n: int) -> float | None:
        times = [first_after(v.epochs[n], t) for v in views if len(v.epochs) > n]
        return min((x for x in times if x is not None), default=None)

    def in_flight() -> int:
        return len(ada.current) + len(bob.current) - max(len(v.current) for v in views)

    kills = [kill_under_load(dep, load, "Room", n, in_flight, lambda t, n=n: served(t, n)) for n in range(1, KILLS + 1)]
    wait_for(lambda: min(len(v.current) for v in views) > 50, BOUND, "messages from the last incarnation")
    load.settle()

    said_in = [{m["text"] for m in ada.values(e) + bob.values(e)} for e in range(KILLS + 1)]
    for view in views:
        assert len(view.epochs) == KILLS + 1
        texts = [text for _, _, text in view.values()]
        assert len(texts) == len(set(texts)), "a message was shown twice"
    for e in range(KILLS + 1):
        numbered: dict[int, tuple[str, str]] = {}
        starts: list[int] = []
        for view in views:
            shown = view.values(e)
            seqs = [seq for seq, _, _ in shown]
            if seqs:
                assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"incarnation {e}: a gap, a repeat or a reorder"
                starts.append(seqs[0])
            for seq, user, text in shown:
                assert text in said_in[e] and text.startswith(user), f"incarnation {e} showed {text!r}, not said to it"
                assert numbered.setdefault(seq, (user, text)) == (user, text), f"viewers disagree on #{seq}"
        assert min(starts) == 0, f"incarnation {e} numbered from {min(starts)}"
    last = {text for view in views for _, _, text in view.values(KILLS)}
    assert last == said_in[KILLS], "the last incarnation lost a message without a crash"
    assert all(k.in_flight > 0 for k in kills)
    check_supervision(dep, kills, "chat")


# ---- the partitioned counter ------------------------------------------------------------------------

SHARDS = 3
KEYS = [f"k{i}" for i in range(12)]


def shard_of(key: str) -> int:
    """The shard ``std.partition_by_key`` sends ``key`` to (a CRC-32 of its repr)."""
    return zlib.crc32(repr(key).encode()) % SHARDS


def probes(shard: int) -> Iterator[str]:
    """Fresh keys (never incremented) owned by ``shard``."""
    return (k for k in (f"probe{i}" for i in range(10**9)) if shard_of(k) == shard)


@pytest.mark.parametrize("role", ["Router", "Shards/1"])
def test_partitioned_counter_role_killed_under_load(launch: Callable[..., Deployed], role: str) -> None:
    """No increment is acknowledged or counted twice, and a read never exceeds the increments
    sent. A killed router loses only what was in flight: the shards keep their counts, so every
    acknowledged increment is still counted. A shard's counts live in memory only: a restarted
    shard counts its keys from zero, so increments it had acknowledged are lost (the other
    shards' keys keep every increment); read-after-write holds within each incarnation."""
    assert {shard_of(k) for k in KEYS} == set(range(SHARDS))
    dep = launch("partitioned_counter", {"Shards": SHARDS})
    links = [Link(dep.d, p, "input") for p in ("increment", "get")]
    acks, values = Link(dep.d, "ack", "output"), Link(dep.d, "value", "output")
    probe_keys = [probes(s) for s in range(SHARDS)]
    probe_sent: dict[str, tuple[float, int]] = {}  # probe key -> (sent at, shard)
    turn = iter(range(10**9))

    def step() -> dict[int, list[Any]]:
        i = next(turn)
        gets = [KEYS[(i * 5 + j) % len(KEYS)] for j in range(2)]
        for s in range(SHARDS):
            key = next(probe_keys[s])
            probe_sent[key] = (time.monotonic(), s)
            gets.append(key)
        return {0: KEYS, 1: gets}

    load = Load(dep, links, [acks, values], step)
    load.start()
    wait_for(lambda: len(acks.current) > 200, BOUND, "acknowledgements before the first kill")
    killed_shard = int(role.split("/")[1]) if "/" in role else None

    def served(t: float) -> float | None:  # a probe sent after the kill, through the killed role, answered
        for at, (key, _n) in ((a, v) for e in values.epochs for a, v in e):
            sent = probe_sent.get(key)
            if sent is not None and sent[0] >= t and (killed_shard is None or sent[1] == killed_shard):
                return at
        return None

    def in_flight() -> int:
        return len(links[0].values()) - len(acks.values())

    kills = [kill_under_load(dep, load, role, n, in_flight, served) for n in range(1, KILLS + 1)]
    wait_for(lambda: len(acks.current) > 200, BOUND, "acknowledgements after the last kill")
    load.settle()

    # during the run: no read above the increments sent so far, probes (never incremented) read 0
    sent_at: dict[str, list[float]] = {k: [] for k in KEYS}  # in time order
    for at, key in (x for e in links[0].epochs for x in e):
        sent_at[key].append(at)
    for at, (key, n) in ((a, v) for e in values.epochs for a, v in e):
        if key in probe_sent:
            assert n == 0, (key, n)
        else:
            assert n <= bisect.bisect_right(sent_at[key], at), f"read {key}={n}, more than the increments sent"
    sent = Counter(links[0].values())
    acked = Counter(acks.values())
    assert all(acked[k] <= sent[k] for k in KEYS), "an increment was acknowledged twice"

    final = read_all(links[1], values)
    if killed_shard is None:
        # Nothing crashed in the router's last incarnation, so every increment sent to it is
        # counted, but not necessarily yet: on a loaded machine a channel that reconnects with
        # backoff after the kill can hold some of them past settle's quiet second. Read until
        # they all are. (Waiting for their acknowledgements instead does not work: a shard's
        # acknowledgements of increments from the router's previous incarnation, held while its
        # channel to the router was down, reach the client through the last one.)
        last_epoch = Counter(links[0].values(KILLS))
        deadline = time.monotonic() + BOUND
        while any(final[k] < last_epoch[k] for k in KEYS) and time.monotonic() < deadline:
            time.sleep(0.2)
            final = read_all(links[1], values)
        for k in KEYS:  # the router: the shards kept every count
            assert last_epoch[k] <= final[k] <= sent[k] and acked[k] <= final[k], (k, last_epoch[k], acked[k], final[k], sent[k])
    else:
        since = Counter(v for at, v in (x for e in links[0].epochs for x in e) if at >= kills[-1].restarted)
        for k in KEYS:
            if shard_of(k) == killed_shard:  # counted from zero by the last incarnation
                assert since[k] <= final[k] <= acked[k] <= sent[k], (k, since[k], final[k], acked[k], sent[k])
            else:
                assert final[k] == acked[k] == sent[k], (k, final[k], acked[k], sent[k])
    # read-after-write on the restarted service: three more acknowledged increments per key
    assert isinstance(links[0].client, InputClient)
    links[0].client.send_many(KEYS * 3)
    assert isinstance(acks.client, OutputClient)
    assert Counter(acks.client.take(3 * len(KEYS), timeout=BOUND)) == Counter(KEYS * 3)
    assert read_all(links[1], values) == {k: final[k] + 3 for k in KEYS}
    assert all(k.in_flight > 0 for k in kills)
    check_supervision(dep, kills, f"partitioned_counter {role}")


def read_all(get: Link, values: Link) -> dict[str, int]:
    assert isinstance(get.client, InputClient) and isinstance(values.client, OutputClient)
    get.client.send_many(KEYS)
    return {k: n for k, n in values.client.take(len(KEYS), timeout=BOUND)}


# ---- map-reduce ---------------------------------------------------------------------------------------

MAPPERS = 3


def document(g: int) -> str:
    """Document number ``g``: a word of its own (counted once if the document is), and shared ones."""
    return f"id{g} w{g % 5} w{(g * 7) % 5} common"


@pytest.mark.parametrize("role", ["Driver", "Mappers/1", "Reducer"])
def test_map_reduce_role_killed_under_load(launch: Callable[..., Deployed], role: str) -> None:
    """No document is counted twice, each reducer incarnation's totals only grow, its totals
    are exactly those of the documents it counted, and every document sent after the last
    restart is counted. The reducer's totals live in memory only: a restarted reducer counts
    from zero, so its totals cover the documents it received, not the whole run."""
    dep = launch("map_reduce", {"Mappers": MAPPERS})
    docs, totals = Link(dep.d, "documents", "input"), Link(dep.d, "totals", "output")
    sent_docs: dict[str, tuple[float, int, int]] = {}  # id word -> (sent at, connection, index on it)
    counter = iter(range(10**9))

    def step() -> dict[int, list[Any]]:
        batch: list[str] = []
        for _ in range(3):
            g = next(counter)
            sent_docs[f"id{g}"] = (time.monotonic(), len(docs.epochs) - 1, len(docs.current) + len(batch))
            batch.append(document(g))
        return {0: batch}

    load = Load(dep, [docs], [totals], step)
    load.start()
    counted = lambda: {w for e in totals.epochs for _, (w, _n) in e if w.startswith("id")}  # noqa: E731
    wait_for(lambda: len(counted()) > 60, BOUND, "documents counted before the first kill")
    mapper = int(role.split("/")[1]) if "/" in role else None

    def served(t: float) -> float | None:
        """When the first document sent after the kill through the killed role was counted."""
        for at, (w, _n) in ((a, v) for e in totals.epochs for a, v in e):
            sent = sent_docs.get(w)
            # the driver deals documents round-robin: number i on a connection goes to mapper i % 3
            if sent is not None and sent[0] >= t and (mapper is None or sent[2] % MAPPERS == mapper):
                return at
        return None

    kills = [kill_under_load(dep, load, role, n, lambda: len(docs.values()) - len(counted()), served) for n in range(1, KILLS + 1)]
    wait_for(lambda: len(counted()) > len(sent_docs) - 300 and len(totals.current) > 60, BOUND, "documents after the last kill")
    load.settle()

    expect_conns = KILLS + 1
    assert len(docs.epochs) == (expect_conns if role == "Driver" else 1)
    assert len(totals.epochs) == (expect_conns if role == "Reducer" else 1)
    seen_ids: list[str] = []
    for e, epoch in enumerate(totals.epochs):
        last: dict[str, int] = {}
        for _, (w, n) in epoch:
            assert n > last.get(w, 0), f"reducer incarnation {e}: the total of {w!r} went from {last.get(w)} to {n}"
            last[w] = n
        ids = [w for w in last if w.startswith("id")]
        assert all(last[w] == 1 for w in ids), "a document was counted twice"
        seen_ids += ids
        # the totals of this reducer incarnation are exactly those of the documents it counted
        expected = Counter(w for i in ids for w in document(int(i[2:])).split())
        assert last == dict(expected), f"reducer incarnation {e}: totals are not those of the documents counted"
    assert len(seen_ids) == len(set(seen_ids)), "a document was counted by two reducer incarnations"
    final_ids = {w for _, (w, _n) in totals.epochs[-1] if w.startswith("id")}
    if role == "Driver":  # everything sent to the last driver (which was not killed) is counted
        late = {w for w, (_at, conn, _i) in sent_docs.items() if conn == KILLS}
    else:  # what was sent after the last restart (senders hold what they send to a dead peer)
        late = {w for w, (at, _conn, _i) in sent_docs.items() if at >= kills[-1].restarted}
    assert late and late <= final_ids, f"{len(late - final_ids)} document(s) sent after the last restart were not counted"
    assert all(k.in_flight > 0 for k in kills)
    check_supervision(dep, kills, f"map_reduce {role}")


# ---- the CLI path ---------------------------------------------------------------------------------------


class Cli:
    """``python -m hydrologic run examples/NAME.py:build`` in a subprocess, its stdout collected."""

    def __init__(self, name: str, *flags: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hydrologic", "run", f"{example_path(name)}:build", *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        wait_for(lambda: any("running" in l and "process(es)" in l for l in self.lines) or self.proc.poll() is not None, 60, "hydrologic run to start")
        assert self.proc.poll() is None, "".join(self.lines)
        self.ports: dict[str, tuple[str, tuple[str, int]]] = {}
        for line in self.lines:
            m = re.match(r"\[hydrologic\] external (\w+) '(\w+)': (\w+) at ([\d.]+):(\d+)", line)
            if m:
                self.ports[m.group(2)] = (m.group(3), (m.group(4), int(m.group(5))))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def workers(self) -> list[int]:
        """The worker processes: children of the CLI process running ``hydrologic.deploy.worker``."""
        out: list[int] = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and _parent(int(entry)) == self.proc.pid:
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        if b"hydrologic.deploy.worker" in f.read():
                            out.append(int(entry))
                except OSError:
                    pass
        return sorted(out)

    def input(self, port: str) -> InputClient:
        codec, address = self.ports[port]
        return connect_input(address, codec, timeout=BOUND)

    def output(self, port: str) -> OutputClient:
        codec, address = self.ports[port]
        return connect_output(address, codec, timeout=BOUND)

    def kill_worker(self, pid: int) -> tuple[str, float]:
        """SIGKILL one worker; returns its label and the kill time once the CLI logged its restart."""
        at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        death = re.compile(rf"\[hydrologic\] (\S+) \(pid {pid}\) exited unexpectedly \(killed by SIGKILL\); restarting it in")
        m = wait_for(lambda: next((death.search(l) for l in self.lines if death.search(l)), None), BOUND, f"the death of {pid}")
        label = str(m.group(1))
        wait_for(lambda: any(f"{label} restarted (incarnation 1)" in l for l in self.lines), BOUND, f"{label} restarted")
        return label, at

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def retry(attempt: Callable[[], Any], what: str) -> None:
    """Repeat ``attempt`` (which reconnects when it fails) until it succeeds, for up to ``BOUND`` s."""
    deadline = time.monotonic() + BOUND
    while True:
        try:
            attempt()
            return
        except (OSError, NetError, AssertionError):
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: no answer within {BOUND:g}s") from None
            time.sleep(0.05)


def collect(out: OutputClient, want: set[Any], key: Callable[[Any], Any], timeout: float) -> None:
    """Read ``out`` until every value in ``want`` was seen (others, late answers to earlier
    attempts, are skipped); AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    missing = set(want)
    while missing:
        left = deadline - time.monotonic()
        try:
            missing.discard(key(out.recv(max(0.01, left))))
        except TimeoutError:
            raise AssertionError(f"not answered: {sorted(missing)}") from None


@pytest.mark.timeout(120)
def test_cli_echo_worker_killed_and_serving_again() -> None:
    cli = Cli("echo")
    try:
        [pid] = cli.workers()
        seq = iter(range(10**9))

        def round_trip() -> None:
            with cli.output("out") as out, cli.input("in") as inp:
                line = f"hello {next(seq)}"
                inp.send(line)
                collect(out, {line.upper()}, lambda v: v, 2)

        round_trip()
        label, at = cli.kill_worker(pid)
        assert label == "Server"
        retry(round_trip, "echo after SIGKILL")
        print(f"\nCLI echo: SIGKILL Server: serving after {(time.monotonic() - at) * 1000:.0f} ms", end="")
        assert cli.proc.poll() is None, "hydrologic run stopped"
        [new] = cli.workers()
        assert new != pid
        text = "".join(cli.lines)
        assert text.count("restarting it in") == 1 and text.count("restarted (incarnation 1)") == 1, text
    finally:
        cli.close()
    assert cli.proc.returncode == 0, "".join(cli.lines)


@pytest.mark.timeout(150)
def test_cli_partitioned_counter_each_worker_killed_and_serving_again() -> None:
    cli = Cli("partitioned_counter", "--cluster", f"Shards={SHARDS}")
    try:
        conns: list[Any] = []

        def connect() -> None:
            for c in conns:
                c.close()
            conns[:] = [cli.input("increment"), cli.input("get"), cli.output("ack"), cli.output("value")]

        rounds = iter(range(10**9))

        def increment_and_read() -> None:
            """Increment a new key on every shard, wait for the acks, read the keys back."""
            n = next(rounds)
            keys = {next(k for k in (f"cli{n}-{i}" for i in range(1000)) if shard_of(k) == s) for s in range(SHARDS)}
            try:
                inc, get, acks, values = conns
                inc.send_many(sorted(keys))
                collect(acks, keys, lambda v: v, 3)
                get.send_many(sorted(keys))
                collect(values, {(k, 1) for k in keys}, lambda v: tuple(v), 3)
            except (OSError, NetError, AssertionError):
                connect()
                raise

        connect()
        retry(increment_and_read, "the counter")
        workers = cli.workers()
        assert len(workers) == 1 + SHARDS
        labels: list[str] = []
        for pid in workers:  # the router and every shard, in turn
            label, at = cli.kill_worker(pid)
            labels.append(label)
            retry(increment_and_read, f"the counter after SIGKILL of {label}")
            print(f"\nCLI partitioned_counter: SIGKILL {label}: serving after {(time.monotonic() - at) * 1000:.0f} ms", end="")
            assert cli.proc.poll() is None, "hydrologic run stopped"
        assert sorted(labels) == ["Router"] + [f"Shards/{i}" for i in range(SHARDS)]
        text = "".join(cli.lines)
        assert text.count("restarting it in") == len(workers) and text.count("restarted (incarnation 1)") == len(workers), text
    finally:
        cli.close()
    assert cli.proc.returncode == 0, "".join(cli.lines)
