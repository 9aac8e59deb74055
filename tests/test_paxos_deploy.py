"""examples/paxos_log.py over real processes on loopback: commands commit, and keep committing
after the leader's process is killed. Every deployment is stopped by the fixture, even on failure."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any, Callable, Iterator

import pytest

from hydrologic.deploy import LocalDeployment, Localhost

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAM = os.path.join(ROOT, "examples", "paxos_log.py") + ":build"
SIZES = {"Proposers": 2, "Acceptors": 3}
pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def start() -> Iterator[Callable[[], LocalDeployment]]:
    started: list[LocalDeployment] = []
    logs: list[str] = []

    def go() -> LocalDeployment:
        d = Localhost(log=logs.append, on_failure="continue").start(PROGRAM, SIZES)
        started.append(d)
        return d

    yield go
    for d in started:
        d.stop()
        for pid in d.pids().values():
            assert not _alive(pid), f"child {pid} survived stop()"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def committed_until(out: Any, wanted: set[str], timeout: float) -> list[tuple[int, str]]:
    """Read [slot, command] entries until every wanted command has been seen."""
    got: list[tuple[int, str]] = []
    deadline = time.monotonic() + timeout
    while not wanted <= {c for _, c in got}:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"not committed within {timeout}s: {sorted(wanted - {c for _, c in got})}; got {got}")
        got += [(slot, command) for slot, command in out.take(1, timeout=left)]
    return got


def test_commands_commit_and_survive_killing_the_leader(start: Callable[[], LocalDeployment]) -> None:
    d = start()
    with d.output("leaders") as leaders, d.output("committed") as committed, d.output("applied") as applied, d.input(
        "commands"
    ) as inp:
        terms = leaders.take(1, timeout=30)
        first = [f"before-{i}" for i in range(10)]
        inp.send_many(first)
        log = committed_until(committed, set(first), timeout=30)
        assert [slot for slot, _ in log] == sorted(slot for slot, _ in log)  # slot order, no repeats
        terms += leaders.drain(quiet=0.3, timeout=5)  # a loaded machine may have changed leaders
        if len(terms) == 1:
            assert [c for _, c in log] == first  # one client, one stable leader: its order is kept

        leader = terms[-1][0]
        d.kill("Proposers", leader)
        after = [f"after-{i}" for i in range(10)]
        inp.send_many(after)
        new_leader, new_ballot = leaders.take(1, timeout=30)[0]
        assert new_leader != leader and (new_ballot, new_leader) > (terms[-1][1], leader)
        log += committed_until(committed, set(after), timeout=30)
        slots = [slot for slot, _ in log]
        assert slots == sorted(slots) and len(set(slots)) == len(slots)

        # the state machine applied every distinct command exactly once, in log order
        order: list[str] = []
        for c in (c for _, c in log):
            if c not in order:
                order.append(c)
        assert applied.take(20, timeout=30) == [[i + 1, c] for i, c in enumerate(order)]


def test_cli_runs_the_example() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hydrologic", "run", PROGRAM, "--cluster", "Proposers=2", "--cluster", "Acceptors=3", "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "external input 'commands': json at 127.0.0.1:" in proc.stdout
    assert "running 6 process(es)" in proc.stdout
