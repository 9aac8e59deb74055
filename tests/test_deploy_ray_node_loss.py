"""Node loss on Ray maps onto the supervision policies: killing the worker node's raylet (the
node is gone, with every actor on it) leaves the program running on the survivor under
``restart`` (the lost instance comes back there, and the ordered round trip resumes) and
``continue`` (it stays dead, the rest keep serving), and stops it under ``shutdown``.

Each test gets a fresh worker node (the previous one was killed); the head, labelled
``hl-node=a``, survives every test and holds the Leader (and its External ports). The head is
told to declare a node dead after about 3 s of failed health checks instead of Ray's default
of about 15 s, only to keep the tests short.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Iterator

import pytest

from hydrologic.deploy import DeploymentError, Placement, Ray, RestartPolicy, RayDeployment
from restarts_support import events, round_trip

ray = pytest.importorskip("ray", reason="hl.deploy.Ray needs the optional `ray` extra (pip install 'hydrologic[ray]')")

from test_deploy_ray import LOOPBACK_ENV, PROGS, _free_port, _kill_group, _ray_cli, _wait_port  # noqa: E402  # pyright: ignore[reportPrivateUsage]

pytestmark = pytest.mark.timeout(240)
COMMON = ["--node-ip-address=127.0.0.1", "--num-cpus=2", "--disable-usage-stats", "--block"]
# Read by the head's GCS from its environment (Ray's RAY_<setting> convention).
FAST_NODE_DEATH = {"RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "500", "RAY_health_check_failure_threshold": "4"}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
    env["RAY_AUTH_MODE"] = "disabled"
    return env


@pytest.fixture(scope="module")
def ray_head() -> Iterator[str]:
    old_env = {k: os.environ.get(k) for k in LOOPBACK_ENV}
    os.environ.update(LOOPBACK_ENV)
    temp = tempfile.mkdtemp(prefix="hlrayloss")
    port = _free_port()
    head = subprocess.Popen(
        [_ray_cli(), "start", "--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp}",
         "--labels=hl-node=a", *COMMON],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env={**_env(), **FAST_NODE_DEATH},
    )
    try:
        _wait_port(port, 60)
        yield f"127.0.0.1:{port}"
    finally:
        _kill_group(head, signal.SIGTERM)
        try:
            head.wait(5)
        except subprocess.TimeoutExpired:
            _kill_group(head, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def worker_node(ray_head: str) -> Iterator[subprocess.Popen[bytes]]:
    """A second node (``hl-node=b``) joined to the head; its process group is killed at teardown."""
    _wait_alive(ray_head, 1)  # the previous test's worker node is declared dead: only the head
    node = subprocess.Popen(
        [_ray_cli(), "start", f"--address={ray_head}", "--labels=hl-node=b", *COMMON],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=_env(),
    )
    try:
        _wait_alive(ray_head, 2)
        yield node
    finally:
        _kill_group(node, signal.SIGKILL)
        node.wait()


def _wait_alive(address: str, n: int, timeout: float = 60) -> None:
    """Until exactly ``n`` nodes are alive (a killed node counts until Ray declares it dead)."""
    code = (
        "import ray,sys,time\n"
        f"ray.init(address={address!r}, logging_level='ERROR')\n"
        "alive=lambda: sum(x['Alive'] for x in ray.nodes())\n"
        f"t=time.time()\nwhile alive()!={n} and time.time()-t<{timeout}: time.sleep(0.2)\n"
        f"sys.exit(0 if alive()=={n} else 1)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=timeout + 30, env=dict(os.environ))


def _group(node: subprocess.Popen[bytes]) -> list[tuple[int, str]]:
    """(pid, command name) of every process in ``node``'s process group."""
    out: list[tuple[int, str]] = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if int(stat[stat.rindex(")") + 2 :].split()[2]) == node.pid:
            out.append((int(pid), comm))
    return out


def _kill_raylet(node: subprocess.Popen[bytes]) -> int:
    """SIGKILL the raylet of ``node`` (found by its process group); returns its pid."""
    for pid, comm in _group(node):
        if comm == "raylet":
            os.kill(pid, signal.SIGKILL)
            return pid
    raise AssertionError(f"no raylet in process group {node.pid}")


def _start(address: str, logs: list[str], **kw: Any) -> RayDeployment:
    # The Leader (External ports) stays on the head; the two workers are spread one per node.
    return Ray(
        address, log=logs.append, log_level="WARNING", init_kwargs={"logging_level": "ERROR"},
        placement={"Leader": Placement(label={"hl-node": "a"})}, **kw,
    ).start(f"{PROGS}:restarts", {"Workers": 2})


def _victim(d: RayDeployment) -> tuple[int, int, str]:
    """(the worker member on node b, the one on the head, the head's node id)."""
    head = d.placement["Leader"]
    on_b = [m for m in (0, 1) if d.placement[f"Workers/{m}"] != head]
    assert len(on_b) == 1, d.placement  # one worker per node
    return on_b[0], 1 - on_b[0], head


def test_restart_brings_the_lost_instance_back_on_the_surviving_node_and_the_round_trip_resumes(
    ray_head: str, worker_node: subprocess.Popen[bytes]
) -> None:
    logs: list[str] = []
    # With mutual TLS on the channels, as across real hosts (both nodes here share 127.0.0.1, so
    # the default would be plain): the new incarnation gets the certificates with its configuration.
    with _start(ray_head, logs, on_failure=RestartPolicy(backoff=0.05), tls=True) as d:
        assert d.tls
        lost, _, head = _victim(d)
        with d.output("liveness") as live:
            assert sorted(events(live, lambda g: len(g) >= 2)) == [[0, "up", 0], [1, "up", 0]]
            assert round_trip(d, [1, 2, 3]) == {0: [10, 20, 30], 1: [10, 20, 30]}
            t0 = time.monotonic()
            _kill_raylet(worker_node)
            after = events(live, lambda g: any(e[:2] == [lost, "restarted"] for e in g), timeout=90)
            took = time.monotonic() - t0
        # In order, once each. The first new incarnation may itself be lost: until Ray declares the
        # node dead (its health checks, ~15 s) a probe can still pass there, and an actor placed
        # on it dies with it. The supervisor then restarts again within the policy, so the program
        # sees one death and one return, with the incarnation that stayed up.
        assert len(after) == 2 and after[0] == [lost, "down", 0], (after, logs)
        assert after[1][:2] == [lost, "restarted"] and 1 <= after[1][2] <= 5, (after, logs)
        assert d.placement[f"Workers/{lost}"] == head  # it came back on the survivor
        values = list(range(100, 140))
        # The ordered channels resumed: every value, in order, from both members.
        assert round_trip(d, values) == {0: [v * 10 for v in values], 1: [v * 10 for v in values]}
        assert not d.failed
        # Reported as lost with its node once Ray has declared the node dead, or, when the calls
        # failed first (ActorUnavailableError on a quiet machine), as died unexpectedly.
        assert any(
            re.search(rf"Workers/{lost} \(pid \d+\) (was lost with its node|died unexpectedly).*restarting it in", l) for l in logs
        ), logs
    print(f"\nRay: raylet SIGKILL to RESTARTED({after[1][2]}) on the survivor in {took:.2f}s; logs: {[l for l in logs if 'Workers' in l][:2]}")


def test_continue_leaves_the_lost_instance_dead_and_the_survivor_serving(
    ray_head: str, worker_node: subprocess.Popen[bytes]
) -> None:
    logs: list[str] = []
    with _start(ray_head, logs, on_failure="continue") as d:
        assert not d.tls  # the default: both nodes have one address here, so no channel crosses hosts
        lost, kept, _ = _victim(d)
        with d.output("liveness") as live:
            events(live, lambda g: len(g) >= 2)
            _kill_raylet(worker_node)
            assert events(live, lambda g: [lost, "down", 0] in g, timeout=90) == [[lost, "down", 0]]
        assert round_trip(d, [1, 2], members=1) == {kept: [10, 20]}
        assert len(d.failures) == 1 and f"Workers/{lost}" in d.failures[0], d.failures
        assert not any("restarting" in l for l in logs), logs
        assert not d.failed and not d.wait(0)


def test_shutdown_stops_the_deployment_when_a_node_is_lost(ray_head: str, worker_node: subprocess.Popen[bytes]) -> None:
    logs: list[str] = []
    d = _start(ray_head, logs, on_failure="shutdown")
    try:
        lost, _, _ = _victim(d)
        _kill_raylet(worker_node)
        assert d.wait(90), "the deployment did not stop after losing a node"
        assert d.failed
        assert any(f"Workers/{lost}" in l for l in logs), logs
        with pytest.raises(DeploymentError, match="the deployment failed"):
            d.__exit__(None, None, None)
    finally:
        d.stop()


def test_a_frozen_node_is_declared_lost_and_its_instance_restarted_on_the_survivor_at_a_new_port(
    ray_head: str, worker_node: subprocess.Popen[bytes]
) -> None:
    """Every process of the worker node stopped (SIGSTOP: a hung machine, or one cut off by a
    partition): its actors neither answer nor die, so only Ray's verdict on the node (after its
    health checks fail) says they are gone, before the driver's own 10 s status timeout. The lost instance is restarted on the survivor; its old port is still held by the
    frozen process, so it listens on a new one and the Leader follows it there."""
    logs: list[str] = []
    # External ports over TLS too: the actors get the port certificate in their configuration,
    # and every client below (liveness, the round trip) talks TLS to the Leader.
    with _start(ray_head, logs, on_failure=RestartPolicy(backoff=0.05), external_tls=True) as d:
        assert d.external_ca is not None
        lost, _, head = _victim(d)
        old = d.internal_address("Workers", lost)
        with d.output("liveness") as live:
            events(live, lambda g: len(g) >= 2)
            for pid, _ in _group(worker_node):
                os.kill(pid, signal.SIGSTOP)
            t0 = time.monotonic()
            after = events(live, lambda g: [lost, "restarted", 1] in g, timeout=90)
            took = time.monotonic() - t0
        assert after == [[lost, "down", 0], [lost, "restarted", 1]], (after, logs)
        assert any(
            re.search(rf"Workers/{lost} \(pid \d+\) was lost with its node \S+ \(Ray node [0-9a-f]{{8}} is dead: ", l) for l in logs
        ), logs
        assert not any("did not answer a status call" in l for l in logs), logs  # Ray's verdict came first
        assert d.placement[f"Workers/{lost}"] == head and d.internal_address("Workers", lost) != old
        assert round_trip(d, [7, 8, 9]) == {0: [70, 80, 90], 1: [70, 80, 90]}
    print(f"\nRay: frozen node to RESTARTED(1) on the survivor in {took:.2f}s")
