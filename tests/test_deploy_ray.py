"""The same programs on a local Ray cluster (a head plus one more node, both started here) and on
Localhost must give identical results, and a dead actor is supervised as a dead process is on
Localhost (restarted as a new incarnation, given up on, or left dead). Skipped, with the reason,
when ``ray`` is not installed."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from typing import Any, Iterator

import pytest

from hydrologic.deploy import Deployment, DeploymentError, Localhost, Placement, Ray, RestartPolicy
from restarts_support import events, round_trip

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
    # Labels tell the two nodes apart for the placement tests (both have the same IP).
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            subprocess.Popen(
                [_ray_cli(), "start", "--head", f"--port={port}", "--include-dashboard=false", f"--temp-dir={temp}", "--labels=hl-node=a", *common],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        )
        _wait_port(port, 60)
        procs.append(
            subprocess.Popen(
                [_ray_cli(), "start", f"--address={address}", "--labels=hl-node=b", *common],
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
        where = dict(on_ray.placement)
        stats = on_ray.stats("Workers", 1)
    assert got == expected
    # an actor's process is set up as a local worker's (deploy/gc_tuning.py)
    assert stats["failed"] is None and stats["gc"]["thresholds"] == [50_000, 20, 10] and stats["gc"]["frozen"] > 0
    assert expected["bcast"] == {m: [["b", x] for x in range(6)] for m in range(3)}
    # Without a Placement, the four instances are pinned round-robin over the two nodes: two each,
    # whatever the load (a soft affinity once let Ray put all four on one node).
    assert sorted(Counter(where.values()).values()) == [2, 2], where


def test_cluster_to_process_aggregation_on_ray_and_hydrologic_status_shows_where_each_member_runs(ray_cluster: str) -> None:
    status = [sys.executable, "-m", "hydrologic", "status", "--ray", ray_cluster]
    with Ray(ray_cluster, log_level="WARNING", init_kwargs={"logging_level": "ERROR"}).start(
        f"{PROGS}:aggregate", {"Workers": 2}
    ) as d:
        with d.output("out") as out:
            got = sorted(map(tuple, out.take(6, timeout=30)))
        shown = subprocess.run(status, capture_output=True, text=True, timeout=90, env=dict(os.environ))
        where, pids = dict(d.placement), d.pids()
    assert got == sorted((m, 10 * k + m) for m in range(2) for k in (1, 2, 3))
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert re.search(r"deployment [0-9a-f]{8}: progs\.py:aggregate", shown.stdout), shown.stdout
    for label in ("Leader", "Workers/0", "Workers/1"):
        line = rf"  {re.escape(label)} +node \S+ \(Ray node {where[label][:8]}\)  pid {pids[label]}  incarnation 0  running"
        assert re.search(line, shown.stdout), shown.stdout
    for node in set(where.values()):  # the per-node summary, with the node's label (hl-node=a or b)
        here = ", ".join(sorted(l for l, n in where.items() if n == node))
        count = sum(1 for n in where.values() if n == node)
        summary = rf"  on \S+ \(Ray node {node[:8]}; hl-node=[ab]\): {count}: {re.escape(here)}\n"
        assert re.search(summary, shown.stdout), shown.stdout
    after = subprocess.run(status, capture_output=True, text=True, timeout=90, env=dict(os.environ))
    assert "no hydrologic deployment is running" in after.stdout, after.stdout  # stopped: its actors are gone


# ---- supervision: the same policies as on Localhost ----------------------------------------------


def _ray(address: str, logs: list[str], **kw: Any) -> Ray:
    return Ray(address, log=logs.append, log_level="WARNING", init_kwargs={"logging_level": "ERROR"}, **kw)


def test_a_killed_actor_comes_back_as_a_new_incarnation_on_its_ports_and_the_ordered_round_trip_resumes(
    ray_cluster: str,
) -> None:
    logs: list[str] = []
    with _ray(ray_cluster, logs, on_failure=RestartPolicy(backoff=0.05)).start(f"{PROGS}:restarts", {"Workers": 2}) as d:
        with d.output("liveness") as live:
            assert sorted(events(live, lambda g: len(g) >= 2)) == [[0, "up", 0], [1, "up", 0]]
            assert round_trip(d, [1, 2, 3]) == {0: [10, 20, 30], 1: [10, 20, 30]}
            old, addr = d.pids()["Workers/1"], d.internal_address("Workers", 1)
            t0 = time.monotonic()
            os.kill(old, signal.SIGKILL)  # a crash, not d.kill(): the supervisor must notice by itself
            after = events(live, lambda g: [1, "restarted", 1] in g)
            took = time.monotonic() - t0
            assert after == [[1, "down", 0], [1, "restarted", 1]], after  # in order, once each
        values = list(range(100, 160))
        assert round_trip(d, values) == {0: [v * 10 for v in values], 1: [v * 10 for v in values]}
        assert d.pids()["Workers/1"] != old and d.internal_address("Workers", 1) == addr
        assert any(re.search(r"Workers/1 \(pid \d+\) died unexpectedly \(.+\); restarting it in 0.05s", l) for l in logs), logs
        assert sum("Workers/1 restarted (incarnation 1)" in l for l in logs) == 1, logs
        assert not d.failed
    print(f"\nRay: SIGKILL to RESTARTED(1) seen by the leader in {took:.2f}s")


def test_a_restarted_actor_whose_port_is_taken_listens_on_a_new_one_and_its_peers_follow(ray_cluster: str) -> None:
    logs: list[str] = []
    with _ray(ray_cluster, logs, on_failure=RestartPolicy(backoff=0.05)).start(f"{PROGS}:restarts", {"Workers": 2}) as d:
        host, port = d.internal_address("Workers", 1)
        with d.output("liveness") as live:
            events(live, lambda g: len(g) >= 2)
            os.kill(d.pids()["Workers/1"], signal.SIGKILL)
            with _taken(host, port):  # held until the new incarnation is up elsewhere
                assert events(live, lambda g: [1, "restarted", 1] in g) == [[1, "down", 0], [1, "restarted", 1]]
        assert d.internal_address("Workers", 1) != (host, port)
        assert any(f"could not listen on {host}:{port} again; it is now at" in l for l in logs), logs
        assert round_trip(d, [5, 6, 7]) == {0: [50, 60, 70], 1: [50, 60, 70]}  # the leader followed it


class _taken:
    """Listen on ``host:port`` as soon as the dying actor has let it go (SO_REUSEADDR, past TIME_WAIT)."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 5
        while True:
            try:
                self.sock.bind((host, port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.005)
        self.sock.listen()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def test_a_crash_loop_on_ray_is_given_up_on_after_the_intensity_limit(ray_cluster: str) -> None:
    logs: list[str] = []
    policy = RestartPolicy(max_restarts=2, within=60, backoff=0.05)
    d = _ray(ray_cluster, logs, on_failure_for={"Workers": policy}).start(f"{PROGS}:crash_at_start", {"Workers": 1})
    try:
        assert d.wait(40), "the deployment did not stop after the intensity limit"
        assert d.failed
        assert sum("restarting it in" in l for l in logs) == 2, logs
        assert re.search(r"Workers/0 \(pid \d+\) failed: UserFunctionError: .*ZeroDivisionError", logs[0]), logs
        assert any("giving up on it after 2 restarts within 60s; stopping the deployment" in l for l in logs), logs
        with pytest.raises(DeploymentError, match="the deployment failed"):
            d.__exit__(None, None, None)
    finally:
        d.stop()


def test_continue_on_ray_leaves_a_dead_actor_dead_and_the_rest_serving(ray_cluster: str) -> None:
    logs: list[str] = []
    with _ray(ray_cluster, logs, on_failure="continue").start(f"{PROGS}:restarts", {"Workers": 2}) as d:
        with d.output("liveness") as live:
            events(live, lambda g: len(g) >= 2)
            old = d.pids()["Workers/1"]
            os.kill(old, signal.SIGKILL)
            assert events(live, lambda g: [1, "down", 0] in g) == [[1, "down", 0]]
        assert round_trip(d, [1, 2], members=1) == {0: [10, 20]}
        assert d.pids()["Workers/1"] == old and len(d.failures) == 1
        assert not any("restart" in l for l in logs), logs
        assert not d.failed and not d.wait(0)
    # leaving the `with` did not raise: "continue" is not a failure of the deployment


# ---- code shipping: the program's folder travels with the deployment -----------------------------

SHIPPED_PROG = """
import hydrologic as hl
from hydrologic import nondet
import shipped_helper  # a local import: only in the program's folder


class Leader: ...


class Workers: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    xs = leader.source_external(client, name="in", of=int)
    xs.broadcast(workers, nondet("every member")).map(lambda x: shipped_helper.times_ten(x)).send(leader).entries().map(
        lambda kv: [kv[0].raw_id, kv[1]]
    ).send_external(client, name="out")
    leader.peer_liveness(workers).entries().map(
        lambda kv: [kv[0].raw_id, kv[1].kind.value, kv[1].incarnation]
    ).send_external(client, name="liveness")
    leader.source_external(client, name="ask", of=int).map(lambda _: shipped_helper.where()).send_external(
        client, name="where"
    )
"""

SHIPPED_HELPER = """
import os


def times_ten(x: int) -> int:
    return x * 10


def where() -> list[object]:
    here = os.path.dirname(os.path.abspath(__file__))
    return [here, sorted(os.listdir(here)), os.environ.get("HL_TEST_SETTING")]
"""


def test_the_program_folder_is_shipped_and_a_restart_after_the_folder_is_gone_still_builds_it(
    ray_cluster: str, tmp_path: Any
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "shipped_prog.py").write_text(SHIPPED_PROG)
    (code / "shipped_helper.py").write_text(SHIPPED_HELPER)
    (code / ".venv").mkdir()  # excluded by default
    (code / ".venv" / "big.bin").write_bytes(b"x" * 1000)
    (code / "data").mkdir()  # excluded by the user's runtime_env
    (code / "data" / "input.csv").write_text("a,b\n")
    logs: list[str] = []
    target = _ray(
        ray_cluster,
        logs,
        on_failure=RestartPolicy(backoff=0.05),
        placement={"Workers": Placement(strategy="strict_spread")},
        runtime_env={"env_vars": {"HL_TEST_SETTING": "from-runtime-env"}, "excludes": ["data/"]},
    )
    with target.start(f"{code}/shipped_prog.py:build", {"Workers": 2}) as d:
        with d.output("where") as where, d.input("ask") as ask:
            ask.send(1)
            ((actor_dir, files, setting),) = where.take(1, timeout=30)
        assert os.path.realpath(actor_dir) != os.path.realpath(code), "the actor imported the driver's copy"
        assert "shipped_helper.py" in files and "shipped_prog.py" in files, files
        assert ".venv" not in files and "data" not in files, files
        assert setting == "from-runtime-env"  # the user's runtime_env reached the actor
        assert round_trip(d, [1, 2]) == {0: [10, 20], 1: [10, 20]}
        shutil.rmtree(code)  # the driver's copy is gone: a new actor can only build the shipped one
        before = dict(d.placement)
        assert before["Workers/0"] != before["Workers/1"], before
        with d.output("liveness") as live:
            events(live, lambda g: len(g) >= 2)
            os.kill(d.pids()["Workers/1"], signal.SIGKILL)
            assert events(live, lambda g: [1, "restarted", 1] in g, timeout=60) == [[1, "down", 0], [1, "restarted", 1]], logs
        assert round_trip(d, [3, 4]) == {0: [30, 40], 1: [30, 40]}
        assert d.placement == before  # the new incarnation runs in its predecessor's bundle, on its node
        assert not d.failed, d.failures


def test_a_module_program_ships_the_folder_it_is_imported_from(
    ray_cluster: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "modroot"
    root.mkdir()
    (root / "hl_mod_prog.py").write_text(SHIPPED_PROG)
    (root / "shipped_helper.py").write_text(SHIPPED_HELPER)
    monkeypatch.syspath_prepend(str(root))  # importable in the driver only
    monkeypatch.delitem(sys.modules, "shipped_helper", raising=False)
    with _ray(ray_cluster, []).start("hl_mod_prog:build", {"Workers": 2}) as d:
        with d.output("where") as where, d.input("ask") as ask:
            ask.send(1)
            ((actor_dir, files, _),) = where.take(1, timeout=30)
        assert round_trip(d, [5]) == {0: [50], 1: [50]}
    assert os.path.realpath(actor_dir) != os.path.realpath(root) and "hl_mod_prog.py" in files, (actor_dir, files)
    sys.modules.pop("hl_mod_prog", None)


NEEDS_DEP = """
import hydrologic as hl
import hl_driver_only_dep  # importable in the driver only: not in the program's folder


class Server: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    server.source_external(client, name="in", of=int).map(hl_driver_only_dep.f).send_external(client, name="out")
"""


def test_a_module_missing_on_the_nodes_is_named_with_the_location_that_needs_it(
    ray_cluster: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, elsewhere = tmp_path / "code", tmp_path / "driver_only"
    code.mkdir()
    elsewhere.mkdir()
    (code / "needs_dep.py").write_text(NEEDS_DEP)
    (elsewhere / "hl_driver_only_dep.py").write_text("def f(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(elsewhere))
    monkeypatch.delitem(sys.modules, "hl_driver_only_dep", raising=False)
    t0 = time.monotonic()
    with pytest.raises(DeploymentError) as info:
        _ray(ray_cluster, []).start(f"{code}/needs_dep.py:build")
    message = str(info.value)
    assert re.search(r"Server on node [\d.]+ could not import module 'hl_driver_only_dep' while building needs_dep.py:build", message), message
    assert "runtime_env" in message, message
    assert time.monotonic() - t0 < 90
    sys.modules.pop("hl_driver_only_dep", None)


def test_the_same_program_without_the_missing_module_starts(ray_cluster: str, tmp_path: Any) -> None:
    """The twin of the test above: with the module next to the program, it is shipped and found."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "needs_dep.py").write_text(NEEDS_DEP)
    (code / "hl_driver_only_dep.py").write_text("def f(x):\n    return x + 1\n")
    with _ray(ray_cluster, []).start(f"{code}/needs_dep.py:build") as d:
        with d.output("out") as out, d.input("in") as inp:
            inp.send_many([1, 2])
            assert out.take(2, timeout=30) == [2, 3]
    sys.modules.pop("hl_driver_only_dep", None)


# ---- placement and resources per location ---------------------------------------------------------


def _node_with_label(value: str) -> str:
    (node,) = [n["NodeID"] for n in ray.nodes() if n.get("Alive") and (n.get("Labels") or {}).get("hl-node") == value]
    node_id: str = node
    return node_id


def test_strict_spread_puts_each_member_on_its_own_node_and_a_label_pins_a_location(ray_cluster: str) -> None:
    placement = {
        "Workers": Placement(strategy="strict_spread", num_cpus=1),
        "Leader": Placement(label={"hl-node": "b"}),
    }
    with _ray(ray_cluster, [], placement=placement).start(f"{PROGS}:aggregate", {"Workers": 2}) as d:
        with d.output("out") as out:
            got = sorted(map(tuple, out.take(6, timeout=30)))
        where = dict(d.placement)
        node_b = _node_with_label("b")
    assert got == sorted((m, 10 * k + m) for m in range(2) for k in (1, 2, 3))
    assert where["Workers/0"] != where["Workers/1"], where
    assert where["Leader"] == node_b, where


def test_a_placement_ray_cannot_satisfy_fails_within_its_timeout_naming_the_location(ray_cluster: str) -> None:
    # Three members on distinct nodes, with two nodes: never satisfiable.
    t0 = time.monotonic()
    with pytest.raises(DeploymentError) as info:
        _ray(ray_cluster, [], placement={"Workers": Placement(strategy="strict_spread", timeout=3)}).start(
            f"{PROGS}:aggregate", {"Workers": 3}
        )
    took = time.monotonic() - t0
    message = str(info.value)
    assert "Ray could not place Workers: 3 member(s), strict_spread" in message, message
    assert "within 3s. The cluster's live nodes: " in message, message
    assert "labels {'hl-node': 'a'}" in message and "labels {'hl-node': 'b'}" in message, message  # what there is
    assert took < 60, took
    # A resource no node has: named with its amount.
    with pytest.raises(DeploymentError, match=r"Ray could not place Leader: 1 member\(s\), spread, each \{CPU: 0.0001, GPU: 1\}"):
        _ray(ray_cluster, [], placement={"Leader": Placement(num_gpus=1, timeout=2)}).start(f"{PROGS}:aggregate", {"Workers": 1})


# ---- operations: hydrologic run --ray -------------------------------------------------------------

LOGS_PROG = """
import logging

import hydrologic as hl


class Leader: ...


class Workers: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    logging.getLogger("app").warning("built here")  # runs in the driver and in every actor
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    workers.source_iter([1, 2]).send(leader).entries().send_external(client, name="out")
"""


def test_hydrologic_run_on_ray_prints_where_each_instance_runs_and_streams_their_logs_with_its_prefix(
    ray_cluster: str, tmp_path: Any
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "logs_prog.py").write_text(LOGS_PROG)
    cmd = [
        sys.executable, "-m", "hydrologic", "run", "--ray", ray_cluster, "code/logs_prog.py:build",
        "--cluster", "Workers=2", "--duration", "8", "--placement", "Workers=strategy=strict_spread",
    ]
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=dict(os.environ))
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert f"running 3 actor(s) on Ray at {ray_cluster}" in out, out
    nodes = dict(re.findall(r"\[hydrologic\] (\S+) on node \S+ \(Ray node (\w+)\) pid [1-9]\d*", out))
    assert set(nodes) == {"Leader", "Workers/0", "Workers/1"}, out
    assert nodes["Workers/0"] != nodes["Workers/1"], out  # strict_spread over the two nodes
    for label in ("Leader", "Workers/0", "Workers/1"):
        assert f"[{label}] WARNING app: built here" in out, out
    print("\n" + out)


# --- cluster membership


def test_actors_added_and_removed_while_running_are_membership_events_and_broadcast_follows_them(ray_cluster: str) -> None:
    logs: list[str] = []
    with _ray(ray_cluster, logs, on_failure=RestartPolicy(backoff=0.05)).start(f"{PROGS}:membership", {"Workers": 2}) as d:
        with d.output("members") as mem:
            assert sorted(events(mem, lambda g: len(g) >= 2)) == [[0, "joined"], [1, "joined"]]
            assert d.add_member("Workers") == 2
            assert events(mem, lambda g: len(g) >= 1) == [[2, "joined"]]
            with d.output("out") as out, d.input("in") as inp:
                inp.send(1)
                assert sorted(m for m, _ in out.take(3, timeout=20)) == [0, 1, 2]  # the new actor receives
            assert d.remove_member("Workers", 0) == 0
            assert events(mem, lambda g: len(g) >= 1) == [[0, "left"]]
            with d.output("spread_out") as out, d.input("spread") as inp:
                inp.send_many(list(range(10)))
                got = out.take(10, timeout=20)
            assert Counter(m for m, _ in got) == {1: 5, 2: 5}  # only the current members, evenly
            os.kill(d.pids()["Workers/2"], signal.SIGKILL)  # a crash of an added member: LEFT, then JOINED
            assert events(mem, lambda g: len(g) >= 2, timeout=30) == [[2, "left"], [2, "joined"]]
        assert d.members("Workers") == [1, 2] and "Workers/0" not in d.pids()
        assert any("Workers/2 joined Workers" in l for l in logs) and any("Workers/0 left Workers" in l for l in logs), logs
        assert not d.failed


def test_hydrologic_scale_reaches_hydrologic_run_on_ray(ray_cluster: str, tmp_path: Any) -> None:
    admin = str(tmp_path / "admin.json")
    run = subprocess.Popen(
        [sys.executable, "-m", "hydrologic", "run", "--ray", ray_cluster, f"{PROGS}:membership", "--cluster", "Workers=2",
         "--admin-file", admin],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert run.stdout is not None
        for line in run.stdout:
            lines.append(line)
            if "admin port" in line:
                break
        scale = [sys.executable, "-m", "hydrologic", "scale", f"{PROGS}:membership", "--admin-file", admin]
        grown = subprocess.run([*scale, "Workers=3"], capture_output=True, text=True, timeout=120)
        assert grown.returncode == 0 and "Workers: 3 member(s): 0, 1, 2" in grown.stdout, (grown, "".join(lines))
        shrunk = subprocess.run([*scale, "--remove", "Workers/1"], capture_output=True, text=True, timeout=120)
        assert shrunk.returncode == 0 and "Workers: 2 member(s): 0, 2" in shrunk.stdout, shrunk
    finally:
        run.send_signal(signal.SIGINT)
        out, _ = run.communicate(timeout=90)
        lines.append(out)
    log = "".join(lines)
    assert "Workers/2 joined Workers" in log and "Workers/1 left Workers" in log, log
