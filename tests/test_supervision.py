"""Supervision: what a deployment does when one of its processes dies.

The policy bookkeeping is tested with a fake clock; the rest over real processes: SIGKILL a
member and it comes back as a new incarnation; a crash loop is given up on after the intensity
limit; a deployment started from a short-lived thread outlives the thread; the CLI restarts by
default.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Iterator

import pytest

from hydrologic.deploy import DeploymentError, LocalDeployment, Localhost
from hydrologic.deploy.supervision import FailurePolicies, RestartPolicy, Supervisor, describe_exit

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "progs.py")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- the policy, with a fake clock -----------------------------------------------------------


def test_restarts_back_off_exponentially_and_give_up_past_the_intensity_limit() -> None:
    sup = Supervisor(FailurePolicies.of(RestartPolicy(max_restarts=3, within=10, backoff=0.5, max_backoff=1.5)))
    verdicts = [sup.on_death("W/0", "W", t) for t in (0.0, 1.0, 2.0, 3.0)]
    assert [v.action for v in verdicts] == ["restart", "restart", "restart", "shutdown"]
    assert [v.delay for v in verdicts[:3]] == [0.5, 1.0, 1.5]  # doubling, capped
    assert verdicts[3].gave_up and verdicts[3].recent == 3
    # restarts older than the window no longer count
    assert sup.on_death("W/0", "W", 14.0).action == "restart"
    # instances are counted separately
    assert sup.on_death("W/1", "W", 3.0) == sup.on_death("W/2", "W", 3.0)


def test_giving_up_can_leave_the_rest_running() -> None:
    sup = Supervisor(FailurePolicies.of(RestartPolicy(max_restarts=1, within=60, then="continue")))
    assert sup.on_death("A", "A", 0).action == "restart"
    v = sup.on_death("A", "A", 1)
    assert v.gave_up and v.action == "continue"


def test_per_location_overrides_and_plain_policies() -> None:
    pol = FailurePolicies.of("shutdown", {"Acceptors": "restart", "Replicas": "continue"})
    sup = Supervisor(pol)
    assert sup.on_death("Gateway", "Gateway", 0).action == "shutdown"
    assert sup.on_death("Replicas/1", "Replicas", 0).action == "continue"
    assert sup.on_death("Acceptors/1", "Acceptors", 0).action == "restart"
    with pytest.raises(ValueError, match="on_failure_for names no location"):
        pol.check_names(["Gateway", "Replicas"])
    with pytest.raises(ValueError, match="on_failure must be"):
        FailurePolicies.of("reboot")
    with pytest.raises(ValueError, match="RestartPolicy needs"):
        RestartPolicy(max_restarts=0)


def test_exits_are_described_in_words() -> None:
    assert describe_exit(1) == "exit status 1"
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(0) == "exit status 0"


# ---- over real processes -----------------------------------------------------------------------


@pytest.fixture
def deployments() -> Iterator[list[LocalDeployment]]:
    started: list[LocalDeployment] = []
    yield started
    for d in started:
        d.stop()


def _wait_for(pred: Any, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.timeout(60)
def test_a_killed_member_is_restarted_as_a_new_incarnation_and_serves_again(deployments: list[LocalDeployment]) -> None:
    logs: list[str] = []
    d = Localhost(log=logs.append, on_failure=RestartPolicy(backoff=0.05)).start(f"{PROGS}:faults", {"Workers": 2})
    deployments.append(d)
    old = d.pids()["Workers/1"]
    os.kill(old, signal.SIGKILL)  # a crash, not d.kill(): the supervisor must notice by itself
    _wait_for(lambda: d.pids()["Workers/1"] != old and any("Workers/1 restarted" in l for l in logs), what="the restart")
    assert any(re.search(r"Workers/1 \(pid \d+\) exited unexpectedly \(killed by SIGKILL\); restarting it in", l) for l in logs)
    with d.output("loose_out") as out, d.input("loose") as inp:
        seen: set[int] = set()
        x = 0
        while 1 not in seen and x < 200:  # the leader's link reconnects with backoff
            x += 1
            inp.send(x)
            seen |= {m for m, _ in out.drain(quiet=0.2, timeout=1)}
        assert seen == {0, 1}
    assert not d.failed


@pytest.mark.timeout(90)
def test_a_crash_loop_is_given_up_on_after_the_intensity_limit(deployments: list[LocalDeployment]) -> None:
    logs: list[str] = []
    policy = RestartPolicy(max_restarts=2, within=60, backoff=0.05)
    d = Localhost(log=logs.append, on_failure="shutdown", on_failure_for={"Workers": policy}).start(
        f"{PROGS}:crash_at_start", {"Workers": 1}
    )
    deployments.append(d)
    assert d.wait(20), "the deployment did not stop after the intensity limit"
    assert d.failed
    assert sum("restarting it in" in l for l in logs) == 2
    assert any("giving up on it after 2 restarts within 60s; stopping the deployment" in l for l in logs)
    with pytest.raises(DeploymentError, match="the deployment failed"):
        d.__exit__(None, None, None)


@pytest.mark.timeout(60)
def test_a_deployment_started_from_a_short_lived_thread_outlives_the_thread(deployments: list[LocalDeployment]) -> None:
    box: list[LocalDeployment] = []
    th = threading.Thread(target=lambda: box.append(Localhost(log=lambda _: None).start(f"{PROGS}:faults", {"Workers": 2})))
    th.start()
    th.join()
    d = box[0]
    deployments.append(d)
    time.sleep(1.0)  # a child tied to the thread would have been signalled by now
    assert not d.wait(0) and not d.failures
    with d.output("pong") as out, d.input("ping") as inp:
        inp.send("still here")
        assert out.take(1) == [["pong", "still here"]]


@pytest.mark.timeout(90)
def test_hydrologic_run_restarts_a_killed_process_by_default() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hydrologic", "run", f"{PROGS}:faults", "--cluster", "Workers=2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        pid = None
        for line in proc.stdout:
            lines.append(line)
            if "running" in line and "process(es)" in line:
                break
        out = subprocess.run(["pgrep", "-f", "hydrologic.deploy.worker"], capture_output=True, text=True).stdout.split()
        children = [int(p) for p in out if int(p) != proc.pid and _parent(int(p)) == proc.pid]
        assert len(children) == 3, (children, lines)
        pid = children[-1]
        os.kill(pid, signal.SIGKILL)
        for line in proc.stdout:
            lines.append(line)
            if "restarted (incarnation 1)" in line:
                break
        text = "".join(lines)
        assert "killed by SIGKILL; restarting it in" in text.replace(")", "").replace("(", "") or "killed by SIGKILL" in text
        assert proc.poll() is None, "hydrologic run stopped instead of restarting"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1


@pytest.mark.timeout(60)
def test_a_location_that_forbids_restarts_stays_dead_and_says_why(deployments: list[LocalDeployment]) -> None:
    logs: list[str] = []
    d = Localhost(log=logs.append, on_failure=RestartPolicy(backoff=0.05)).start(f"{PROGS}:no_restart", {"Workers": 2})
    deployments.append(d)
    pid = d.pids()["Workers/1"]
    os.kill(pid, signal.SIGKILL)
    _wait_for(lambda: any("not restarting it" in l for l in logs), what="the refusal")
    assert any("the program forbids it (test: the workers' state lives in memory only)" in l for l in logs)
    time.sleep(0.5)
    assert d.pids()["Workers/1"] == pid and not d.failed
    with d.output("loose_out") as out, d.input("loose") as inp:  # the others keep serving
        inp.send(1)
        assert out.take(1) == [[0, ["l", 1]]]
    with pytest.raises(DeploymentError, match="must not be restarted: test: the workers' state"):
        d.restart("Workers", 1)
    d.restart("Workers", 1, force=True)
    assert d.pids()["Workers/1"] != pid
