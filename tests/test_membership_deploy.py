"""Cluster membership over real processes: members added and removed while the program runs
(``add_member`` / ``remove_member`` / ``scale``), seen by the program as ``source_cluster_members``
events, with ``broadcast`` and ``round_robin`` going to the current members; a restart is
``LEFT`` then ``JOINED``."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from typing import Any, Iterator

import pytest

from hydrologic.deploy import LocalDeployment, Localhost
from hydrologic.deploy.deployment import DeploymentError
from hydrologic.deploy.supervision import RestartPolicy
from hydrologic.net.client import connect_output
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


# ---- `hydrologic scale` against `hydrologic run` ---------------------------------------------


def _cli(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hydrologic", *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_hydrologic_scale_changes_the_clusters_of_a_running_hydrologic_run(tmp_path: Any, monkeypatch: Any) -> None:
    from hydrologic.deploy.admin import default_admin_file

    monkeypatch.chdir(tmp_path)
    admin = default_admin_file(f"{PROGS}:membership")  # found from the directory and the program
    cwd = str(tmp_path)
    run = subprocess.Popen(
        [sys.executable, "-m", "hydrologic", "run", f"{PROGS}:membership", "--cluster", "Workers=2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=str(tmp_path),
    )
    lines: list[str] = []
    try:
        assert run.stdout is not None
        members_port: tuple[str, int] | None = None
        for line in run.stdout:
            lines.append(line)
            m = re.search(r"external output 'members': msgpack at ([\d.]+):(\d+)", line)
            if m:
                members_port = (m.group(1), int(m.group(2)))
            if "admin port" in line:
                break
        assert members_port is not None, "".join(lines)
        assert f"hydrologic scale {PROGS}:membership NAME=N" in lines[-1]
        assert stat.S_IMODE(os.stat(admin).st_mode) == 0o600  # the token is this user's only
        with connect_output(members_port) as mem:
            assert sorted(events(mem, lambda g: len(g) >= 2)) == [[0, "joined"], [1, "joined"]]

            shown = _cli("scale", f"{PROGS}:membership", cwd=cwd)
            assert shown.returncode == 0 and "Workers: 2 member(s): 0, 1" in shown.stdout, shown

            grown = _cli("scale", f"{PROGS}:membership", "Workers=+2", cwd=cwd)
            assert grown.returncode == 0 and "Workers: 4 member(s): 0, 1, 2, 3" in grown.stdout, grown
            assert sorted(events(mem, lambda g: len(g) >= 2)) == [[2, "joined"], [3, "joined"]]

            shrunk = _cli("scale", f"{PROGS}:membership", "Workers=2", "--remove", "Workers/0", cwd=cwd)
            assert shrunk.returncode == 0 and "Workers: 1 member(s): 1" in shrunk.stdout, shrunk
            assert sorted(events(mem, lambda g: len(g) >= 3)) == [[0, "left"], [2, "left"], [3, "left"]]

            refused = _cli("scale", f"{PROGS}:membership", "--admin-file", admin, "Leader=3")  # options first work too
            assert refused.returncode == 1 and "Leader is a process, not a cluster" in refused.stderr, refused
    finally:
        run.send_signal(signal.SIGINT)
        out, _ = run.communicate(timeout=30)
        lines.append(out)
    log = "".join(lines)
    assert "[Workers/2] " in log or "Workers/2 joined Workers" in log, log
    assert not os.path.exists(admin)  # removed when the run ends
    gone = _cli("scale", f"{PROGS}:membership", "--admin-file", admin)
    assert gone.returncode == 1 and "no admin file" in gone.stderr


def test_hydrologic_scale_refuses_a_wrong_token(tmp_path: Any) -> None:
    from hydrologic.deploy.admin import AdminServer

    class Fake:
        graph = type("G", (), {"locations": []})()

        def members(self, location: str) -> list[int]:
            return []

    server = AdminServer(Fake()).start()  # type: ignore[arg-type]
    try:
        path = str(tmp_path / "admin.json")
        server.write_file(path)
        with open(path) as f:
            info = json.load(f)
        info["token"] = "0" * 32
        with open(path, "w") as f:
            json.dump(info, f)
        bad = _cli("scale", "prog.py:build", "--admin-file", path)
        assert bad.returncode == 1 and "wrong admin token" in bad.stderr, bad
    finally:
        server.close()


def test_broadcast_closed_reaches_every_member_converges_and_refuses_scaling() -> None:
    d = Localhost(log=lambda _: None).start(f"{PROGS}:closed_membership", {"Workers": 3})
    try:
        with d.output("out") as out, d.output("total") as total, d.input("in") as inp:
            for v in (1, 2, 3):
                inp.send(v)
            got = out.take(9, timeout=15)
            assert sorted(m for m, v in got if v == 10) == [0, 1, 2]  # every member, each value once
            assert Counter(m for m, _ in got) == {0: 3, 1: 3, 2: 3}
            seen: dict[int, int] = {}
            deadline = time.monotonic() + 15
            while len(seen) < 3 or set(seen.values()) != {6}:  # every member's sum converges on 6
                assert time.monotonic() < deadline, seen
                for m, t in total.take(1, timeout=15):
                    seen[m] = t
        with pytest.raises(DeploymentError, match="keeps the members it started with"):
            d.add_member("Workers")
        with pytest.raises(DeploymentError, match="keeps the members it started with"):
            d.remove_member("Workers", 0)
        assert d.members("Workers") == [0, 1, 2]
    finally:
        d.stop()
