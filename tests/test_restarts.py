"""Restarts over real processes: channels resume with the new incarnation, and the program
sees it happen as ``peer_liveness`` events, in order, once each.

What an ordered channel promises across a restart (docs/deployment.md, "Faults and restarts"):
each incarnation's messages arrive in order with no gap and no duplicate; what a dead
incarnation had in flight is lost; ``RESTARTED(n)`` is seen no later than incarnation ``n``'s
first message.
"""

from __future__ import annotations

import os
import signal
from typing import Iterator

import pytest

from hydrologic.deploy import LocalDeployment, Localhost
from hydrologic.deploy.supervision import RestartPolicy
from restarts_support import events, round_trip

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "progs.py")
pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def deployment() -> Iterator[LocalDeployment]:
    logs: list[str] = []
    d = Localhost(log=logs.append, on_failure=RestartPolicy(backoff=0.05)).start(f"{PROGS}:restarts", {"Workers": 2})
    d.logs = logs  # type: ignore[attr-defined]
    yield d
    d.stop()


def test_sigkill_of_a_member_restarts_it_and_its_ordered_channels_resume(deployment: LocalDeployment) -> None:
    d = deployment
    with d.output("liveness") as live:
        opening = events(live, lambda g: len(g) >= 2)
        assert sorted(opening) == [[0, "up", 0], [1, "up", 0]]
        assert round_trip(d, [1, 2, 3]) == {0: [10, 20, 30], 1: [10, 20, 30]}

        old = d.pids()["Workers/1"]
        os.kill(old, signal.SIGKILL)
        after = events(live, lambda g: [1, "restarted", 1] in g)
        assert after == [[1, "down", 0], [1, "restarted", 1]], after  # in order, once each

    # both directions of the ordered round trip resumed with incarnation 1: all, in order, once
    values = list(range(100, 160))
    assert round_trip(d, values) == {0: [v * 10 for v in values], 1: [v * 10 for v in values]}
    assert d.pids()["Workers/1"] != old and not d.failed


def test_repeated_restarts_count_incarnations_and_each_event_comes_once(deployment: LocalDeployment) -> None:
    d = deployment
    with d.output("liveness") as live:
        events(live, lambda g: len(g) >= 2)
        for n in (1, 2, 3):
            pid = d.pids()["Workers/0"]
            os.kill(pid, signal.SIGKILL)
            got = events(live, lambda g: [0, "restarted", n] in g)
            assert got == [[0, "down", n - 1], [0, "restarted", n]], (n, got)
    assert round_trip(d, [7]) == {0: [70], 1: [70]}
