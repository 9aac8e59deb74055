"""Durable state over real processes: a SIGKILLed instance restarts and continues from its data
directory, through the ``Localhost`` API and under ``hydrologic run``; a later deployment on the
same directory recovers too; outputs wait for their writes (output gating)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

import hydrologic as hl
from hydrologic.deploy import Localhost
from hydrologic.deploy.deployment import DeploymentError
from hydrologic.deploy.node import LocationNode
from hydrologic.deploy.supervision import RestartPolicy
from hydrologic.net.client import connect_input, connect_output
from hydrologic.storage import LogStore

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "durable_progs.py")
ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(120)


def _wait(cond: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _add(d: Any, values: list[int], expect_totals: int) -> tuple[list[int], list[list[int]]]:
    with d.output("total") as totals, d.output("by3") as by3, d.input("add") as add:
        add.send_many(values)
        got = totals.take(expect_totals, timeout=15)
        entries = by3.drain(quiet=0.3, timeout=5)
    return got, entries


def test_a_killed_process_restarts_from_its_durable_state(tmp_path: Path) -> None:
    logs: list[str] = []
    target = Localhost(log=logs.append, on_failure=RestartPolicy(backoff=0.05), data_dir=tmp_path, fsync="batch")
    with target.start(f"{PROGS}:durable_kv") as d:
        totals, entries = _add(d, [1, 2, 3], 3)
        assert totals == [1, 3, 6]
        assert sorted(map(tuple, entries)) == [(0, 3), (1, 1), (2, 2)]
        old = d.pids()["Server"]
        os.kill(old, signal.SIGKILL)
        _wait(lambda: d.pids()["Server"] != old and any("restarted (incarnation 1)" in l for l in logs), 20, "the restart")
        totals, entries = _add(d, [10], 1)
        assert totals == [16]  # not 10: the total came back from the data directory
        assert entries == [[1, 11]]
    assert (tmp_path / "Server" / "state.log").exists()
    # A new deployment on the same directory recovers as well.
    with Localhost(log=logs.append, data_dir=tmp_path).start(f"{PROGS}:durable_kv") as d:
        totals, entries = _add(d, [4], 1)
        assert totals == [20] and entries == [[1, 15]]
    # Without a data directory each deployment has its own (temporary) one.
    with Localhost(log=logs.append).start(f"{PROGS}:durable_kv") as d:
        assert _add(d, [4], 1)[0] == [4]


def test_an_unwritable_data_directory_fails_the_start_naming_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DeploymentError) as e:
        Localhost(log=lambda _l: None, data_dir=blocker / "data").start(f"{PROGS}:durable_kv")
    msg = str(e.value)
    assert "Server could not start" in msg and "cannot open durable state" in msg and str(blocker / "data" / "Server") in msg


class _Cli:
    def __init__(self, *flags: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hydrologic", "run", f"{PROGS}:durable_cluster", "--cluster", "Workers=2", *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        _wait(lambda: any("process(es)" in l for l in self.lines) or self.proc.poll() is not None, 60, "hydrologic run")
        assert self.proc.poll() is None, "".join(self.lines)
        self.ports = {
            m.group(1): (m.group(2), (m.group(3), int(m.group(4))))
            for l in self.lines
            if (m := re.match(r"\[hydrologic\] external \w+ '(\w+)': (\w+) at ([\d.]+):(\d+)", l))
        }

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def round(self, values: list[int]) -> dict[int, int]:
        """Send ``values``; each worker's last reported total."""
        codec, addr = self.ports["out"]
        icodec, iaddr = self.ports["in"]
        with connect_output(addr, codec, timeout=10) as out, connect_input(iaddr, icodec, timeout=10) as inp:
            inp.send_many(values)
            got = out.take(2 * len(values), timeout=15)
        return {m: t for m, t in got}

    def worker_pids(self) -> list[int]:
        out = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                if ppid == self.proc.pid:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        if b"hydrologic.deploy.worker" in f.read():
                            out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
        return out

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def test_hydrologic_run_keeps_durable_state_across_a_sigkill_and_a_second_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli = _Cli("--data-dir", str(data))
    try:
        assert f"durable state of Workers in {data}" in "".join(cli.lines)
        assert cli.round([1, 2]) == {0: 3, 1: 3}
        pids = cli.worker_pids()
        assert len(pids) == 3  # the leader and two workers
        # Kill the worker whose data directory is Workers-1 (find it by its open log file).
        victim = next(p for p in pids if any(str(data / "Workers-1") in os.path.realpath(f"/proc/{p}/fd/{fd}") for fd in os.listdir(f"/proc/{p}/fd")))
        os.kill(victim, signal.SIGKILL)
        _wait(lambda: any("Workers/1 restarted (incarnation 1)" in l for l in cli.lines), 30, "the restart")
        deadline = time.monotonic() + 20
        while True:  # the leader's link to the new incarnation may take a moment
            try:
                got = cli.round([5])
                break
            except (AssertionError, OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
        assert got == {0: 8, 1: 8}, "".join(cli.lines)
    finally:
        assert cli.close() == 0, "".join(cli.lines)
    assert sorted(p.name for p in data.iterdir()) == ["Workers-0", "Workers-1"]
    cli = _Cli("--data-dir", str(data), "--fsync", "always")
    try:
        assert cli.round([1]) == {0: 9, 1: 9}
    finally:
        assert cli.close() == 0, "".join(cli.lines)


def test_outputs_wait_for_their_durable_write() -> None:
    """A message computed after a durable change leaves only once the change is fsynced: with the
    fsync held back, nothing leaves; once it completes, everything does, in tick order."""
    flow = hl.FlowBuilder()

    class A: ...

    class B: ...

    a = flow.process(A)
    b = flow.process(B)
    port, xs = a.sim_input(int)
    xs.scan(lambda: 0, lambda s, x: s + x, durable="total").send(b).sim_output()
    graph = flow.build()
    loc_a, loc_b = graph.locations[0], graph.locations[1]
    sent: list[bytes] = []
    fsync_may_finish = threading.Event()
    fsync_started = threading.Event()

    class FakeLink:
        high_water = 1 << 30

        def send(self, payload: bytes) -> None:
            sent.append(payload)

        def backlog(self) -> int:
            return 0

    async def run(tmp: str) -> tuple[int, int, int]:
        store = LogStore(tmp, label="A", fsync="batch")
        real = store._fsync  # pyright: ignore[reportPrivateUsage]

        def slow(fd: int) -> None:
            fsync_started.set()
            fsync_may_finish.wait(10)
            real(fd)

        store._fsync = slow  # type: ignore[method-assign]  # pyright: ignore[reportPrivateUsage]
        node = LocationNode(graph, loc_a, None, {}, b"secret", store=store)
        node.attach_store(asyncio.get_running_loop())
        node.links[(loc_b.id, None)] = FakeLink()  # type: ignore[assignment]
        task = asyncio.ensure_future(node._loop())  # pyright: ignore[reportPrivateUsage]
        inbox = next(n for n in graph.nodes if n.op == "sim_input" and n.root is loc_a)
        node._deliver(inbox.id, [1, 2])  # pyright: ignore[reportPrivateUsage]
        await asyncio.sleep(0.2)
        node._deliver(inbox.id, [3])  # pyright: ignore[reportPrivateUsage]  # more ticks meanwhile
        await asyncio.sleep(0.2)
        held_while_syncing = len(sent)
        ticks = node.rt.ticks_run
        fsync_may_finish.set()
        for _ in range(100):
            await asyncio.sleep(0.02)
            if len(sent) >= 2:
                break
        node._stopping = True  # pyright: ignore[reportPrivateUsage]
        node._wake.set()  # pyright: ignore[reportPrivateUsage]
        await task
        store.close()
        return held_while_syncing, ticks, len(sent)

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        held, ticks, after = asyncio.run(run(tmp))
    assert fsync_started.is_set()
    assert held == 0, "a message left before its write was durable"
    assert ticks >= 2  # the engine kept ticking while the fsync was pending (pipelining)
    assert after >= 2
    from hydrologic.net.codec import decode_batch

    values = [v for p in sent for _, items in decode_batch(p) for v in items]
    assert values == [1, 3, 6]  # released in tick order


def test_a_failed_background_write_stops_the_location_and_nothing_leaves(tmp_path: Path) -> None:
    import errno

    flow = hl.FlowBuilder()

    class A: ...

    class B: ...

    a = flow.process(A)
    b = flow.process(B)
    _port, xs = a.sim_input(int)
    xs.scan(lambda: 0, lambda s, x: s + x, durable="total").send(b).sim_output()
    graph = flow.build()
    sent: list[bytes] = []

    class FakeLink:
        high_water = 1 << 30

        def send(self, payload: bytes) -> None:
            sent.append(payload)

        def backlog(self) -> int:
            return 0

    async def run() -> BaseException | None:
        store = LogStore(tmp_path, label="A", fsync="batch")

        def full(fd: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        store._fsync = full  # type: ignore[method-assign]  # pyright: ignore[reportPrivateUsage]
        node = LocationNode(graph, graph.locations[0], None, {}, b"secret", store=store)
        node.attach_store(asyncio.get_running_loop())
        node.links[(graph.locations[1].id, None)] = FakeLink()  # type: ignore[assignment]
        task = asyncio.ensure_future(node._loop())  # pyright: ignore[reportPrivateUsage]
        inbox = next(n for n in graph.nodes if n.op == "sim_input")
        node._deliver(inbox.id, [1])  # pyright: ignore[reportPrivateUsage]
        await asyncio.wait_for(node.done.wait(), 10)
        await task
        return node.failed

    failed = asyncio.run(run())
    assert failed is not None and "disk is full (ENOSPC)" in str(failed) and "location A" in str(failed)
    assert sent == []  # the tick's message never left
