"""Cluster membership over real processes: members added and removed while the program runs
(``add_member`` / ``remove_member`` / ``scale``), seen by the program as ``source_cluster_members``
events, with ``broadcast`` and ``round_robin`` going to the current members; a restart is
``LEFT`` then ``JOINED``."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from typing import Any, Iterator

import pytest

from hydrologic.deploy import LocalDeployment, Localhost
from hydrologic.deploy.deployment import DeploymentError
from hydrologic.deploy.supervision import RestartPolicy
from restarts_support import events

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "progs.py")
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def deployment() -> Iterator[LocalDeployment]:
    logs: list[str] = []
    d = Localhost(log=logs.append, on_failure=RestartPolicy(backoff=0.05)).start(f"{PROGS}:membership", {"Workers": 2})
    d.logs = logs  # type: ignore[attr-defined]
    yield d
    d.stop()


def _broadcast(d: LocalDeployment, value: int, members: int) -> list[int]:
    """Who answered one broadcast value (the leader's sorted view of the repliers)."""
    with d.output("out") as out, d.input("in") as inp:
        inp.send(value)
        got = out.take(members, timeout=15)
        got += out.drain(quiet=0.3, timeout=1.0)  # nobody else answers
    return sorted(m for m, v in got if v == value * 10)


def test_added_and_removed_members_are_events_and_broadcast_follows_them(deployment: LocalDeployment) -> None:
    d = deployment
    with d.output("members") as mem:
        assert sorted(events(mem, lambda g: len(g) >= 2)) == [[0, "joined"], [1, "joined"]]
        assert _broadcast(d, 1, 2) == [0, 1]

        assert d.add_member("Workers") == 2
        assert events(mem, lambda g: len(g) >= 1) == [[2, "joined"]]
        assert d.members("Workers") == [0, 1, 2]
        assert _broadcast(d, 2, 3) == [0, 1, 2]  # the newcomer gets what is sent after it joined

        assert d.remove_member("Workers", 0) == 0
        assert events(mem, lambda g: len(g) >= 1) == [[0, "left"]]
        assert _broadcast(d, 3, 2) == [1, 2]  # the one that left gets nothing more
        assert "Workers/0" not in d.pids() and d.members("Workers") == [1, 2]

        assert d.scale("Workers", 4) == [1, 2, 3, 4]  # new ids are never reused
        assert sorted(events(mem, lambda g: len(g) >= 2)) == [[3, "joined"], [4, "joined"]]
        assert d.scale("Workers", 2) == [1, 2]
        assert sorted(events(mem, lambda g: len(g) >= 2)) == [[3, "left"], [4, "left"]]
    assert not d.failed
    assert any("Workers/2 joined Workers" in line for line in d.logs)  # type: ignore[attr-defined]


def test_round_robin_spreads_over_the_current_members(deployment: LocalDeployment) -> None:
    d = deployment
    d.add_member("Workers")
    d.remove_member("Workers", 1)
    with d.output("spread_out") as out, d.input("spread") as inp:
        inp.send_many(list(range(30)))
        got = out.take(30, timeout=15)
    assert Counter(m for m, _ in got) == {0: 15, 2: 15}  # every element once, only to members
    assert sorted(v for _, v in got) == list(range(30))


def test_a_restart_is_left_then_joined(deployment: LocalDeployment) -> None:
    d = deployment
    with d.output("members") as mem:
        events(mem, lambda g: len(g) >= 2)
        os.kill(d.pids()["Workers/1"], signal.SIGKILL)
        assert events(mem, lambda g: len(g) >= 2) == [[1, "left"], [1, "joined"]]
    assert _broadcast(d, 5, 2) == [0, 1]


def test_scaling_is_checked(deployment: LocalDeployment) -> None:
    d = deployment
    with pytest.raises(DeploymentError, match="Leader is a process, not a cluster"):
        d.add_member("Leader")
    with pytest.raises(DeploymentError, match="no cluster named 'Nope'.*clusters: Workers"):
        d.scale("Nope", 3)
    with pytest.raises(DeploymentError, match="Workers has no member 7"):
        d.remove_member("Workers", 7)
    d.remove_member("Workers")
    with pytest.raises(DeploymentError, match="at least one member"):
        d.remove_member("Workers")
    assert d.members("Workers") == [0]
    time.sleep(0.2)
    assert not d.failed
