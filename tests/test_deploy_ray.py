"""The same programs on a local Ray cluster (a head plus one more node, both started here) and on
Localhost must give identical results. Skipped, with the reason, when ``ray`` is not installed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from typing import Any, Iterator

import pytest

from hydrologic.deploy import Deployment, Localhost, Ray

ray = pytest.importorskip("ray", reason="hl.deploy.Ray needs the optional `ray` extra (pip install 'hydrologic[ray]')")

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "progs.py")
pytestmark = pytest.mark.timeout(150)

# Keep this driver on loopback: without it, ray.init resolves 127.0.0.1 to the machine's outward
# address. (Only for drivers: set on `ray start`, it stops a second node from joining.) The
# nodes themselves are pinned to 127.0.0.1 by --node-ip-address.
# RAY_AUTH_MODE: newer Ray turns token auth on whenever ~/.ray/auth_token exists (any earlier
# local ray.init() writes one); this throw-away loopback cluster must not depend on that file.
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ray_cli() -> str:
    exe = os.path.join(os.path.dirname(sys.executable), "ray")
    return exe if os.path.exists(exe) else (shutil.which("ray") or "ray")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A head node and a second node on this machine, each `ray start --block` in its own
    process group, killed by group id at teardown."""
    old_env = {k: os.environ.get(k) for k in LOOPBACK_ENV}
    env = {k: v for k, v in os.environ.items() if k != "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"}
    env["RAY_AUTH_MODE"] = "disabled"
    os.environ.update(LOOPBACK_ENV)
    temp = tempfile.mkdtemp(prefix="hlray")  # short: Ray puts unix sockets under it
    port = _free_port()
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=2", "--disable-usage-stats", "--block"]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            subprocess.Popen(
                [_ray_cli(), "start", "--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp}", *common],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        )
        _wait_port(port, 60)
        procs.append(
            subprocess.Popen(
                [_ray_cli(), "start", f"--address={address}", *common],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        )
        _wait_nodes(address, 2, 60)
        yield address
    finally:
        for p in procs:
            _kill_group(p, signal.SIGTERM)
        deadline = time.monotonic() + 5
        for p in procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _kill_group(p, signal.SIGKILL)
            p.wait()
        shutil.rmtree(temp, ignore_errors=True)
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _kill_group(p: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(p.pid, sig)  # the group we created with start_new_session
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


def _wait_nodes(address: str, n: int, timeout: float) -> None:
    code = (
        "import ray,sys,time\n"
        f"ray.init(address={address!r}, logging_level='ERROR')\n"
        f"t=time.time()\nwhile sum(x['Alive'] for x in ray.nodes())<{n} and time.time()-t<{timeout}: time.sleep(0.2)\n"
        f"sys.exit(0 if sum(x['Alive'] for x in ray.nodes())>={n} else 1)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=timeout + 30, env=dict(os.environ))


def _results(d: Deployment) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with d.output("bcast_out") as bo, d.input("bcast") as bi, d.output("rr_out") as ro, d.input("rr") as ri:
        bi.send_many(range(6))
        ri.send_many(range(10, 19))
        for name, client, n in (("bcast", bo, 18), ("rr", ro, 9)):
            per: dict[int, list[Any]] = defaultdict(list)
            for member, value in client.take(n, timeout=30):
                per[member].append(value)
            out[name] = dict(per)
    return out


def test_the_same_program_on_localhost_and_on_ray_gives_identical_results(ray_cluster: str) -> None:
    with Localhost(log=lambda _: None).start(f"{PROGS}:spread", {"Workers": 3}) as local:
        expected = _results(local)
    with Ray(ray_cluster, log_level="WARNING", init_kwargs={"logging_level": "ERROR"}).start(
        f"{PROGS}:spread", {"Workers": 3}
    ) as on_ray:
        got = _results(on_ray)
        nodes = set(on_ray.placement.values())
    assert got == expected
    assert expected["bcast"] == {m: [["b", x] for x in range(6)] for m in range(3)}
    assert len(nodes) >= 2, f"all actors landed on one node: {on_ray.placement}"


def test_cluster_to_process_aggregation_on_ray(ray_cluster: str) -> None:
    with Ray(ray_cluster, log_level="WARNING", init_kwargs={"logging_level": "ERROR"}).start(
        f"{PROGS}:aggregate", {"Workers": 2}
    ) as d:
        with d.output("out") as out:
            got = sorted(map(tuple, out.take(6, timeout=30)))
    assert got == sorted((m, 10 * k + m) for m in range(2) for k in (1, 2, 3))
