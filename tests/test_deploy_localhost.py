"""End-to-end: programs deployed as real OS processes talking over loopback TCP.

Every deployment is stopped by a fixture finalizer, so no child outlives a failing test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any, Callable, Iterator

import pytest

import hydrologic as hl
from hydrologic.deploy import DeploymentError, LocalDeployment, Localhost
from hydrologic.net.auth import client_handshake
from hydrologic.net.framing import pack_frame

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "progs.py")
pytestmark = pytest.mark.timeout(60)

Start = Callable[..., LocalDeployment]


@pytest.fixture
def start() -> Iterator[Start]:
    """Start a program on Localhost; every deployment started is stopped at teardown."""
    started: list[LocalDeployment] = []
    logs: list[str] = []

    def go(name: str, sizes: dict[str, int] | None = None, **kw: Any) -> LocalDeployment:
        d = Localhost(log=logs.append, **kw).start(f"{PROGS}:{name}", sizes)
        d.logs = logs  # type: ignore[attr-defined]
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
    # a zombie is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def by_member(entries: list[Any]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for member, value in entries:
        out[member].append(value)
    return dict(out)


def test_echo_through_an_external_port(start: Start) -> None:
    d = start("echo")
    with d.output("out") as out, d.input("in") as inp:
        inp.send_many(["hello", "world"])
        assert out.take(2) == ["HELLO", "WORLD"]


def test_hl_deploy_is_the_public_entry_point_and_the_client_api_connects_by_address() -> None:
    with hl.deploy.Localhost(log=lambda _: None).start(f"{PROGS}:echo") as d:
        assert [(p.name, p.kind, p.codec) for p in d.ports()] == [("in", "input", "json"), ("out", "output", "json")]
        with hl.net.connect_output(d.address("out"), "json") as out, hl.net.connect_input(d.address("in"), "json") as inp:
            inp.send("via the client api")
            assert out.recv(10) == "VIA THE CLIENT API"
        pids = list(d.pids().values())
    assert not any(_alive(p) for p in pids)


def test_cluster_to_process_arrives_keyed_by_member_in_sender_order(start: Start) -> None:
    d = start("aggregate", {"Workers": 3})
    with d.output("out") as out:
        got = by_member(out.take(9))
    assert got == {m: [10 + m, 20 + m, 30 + m] for m in range(3)}


def test_broadcast_reaches_every_member_in_order(start: Start) -> None:
    d = start("spread", {"Workers": 3})
    with d.output("bcast_out") as out, d.input("bcast") as inp:
        inp.send_many(range(5))
        got = by_member(out.take(15))
    assert got == {m: [["b", x] for x in range(5)] for m in range(3)}


def test_round_robin_spreads_in_turn(start: Start) -> None:
    d = start("spread", {"Workers": 3})
    with d.output("rr_out") as out, d.input("rr") as inp:
        inp.send_many(range(9))
        got = by_member(out.take(9))
    assert got == {m: [["r", x] for x in range(m, 9, 3)] for m in range(3)}


# Several frames' worth (a frame carries 4,096 elements) plus a partial one: the chunks sent
# while the flat_map runs and the tail sent at the end of the tick must arrive as one sequence.
STREAMED_N = 3 * 4096 + 123


def test_a_large_output_streamed_while_it_is_made_arrives_whole_and_in_order(start: Start) -> None:
    d = start("streamed", {"Workers": 3})
    with d.output("out") as out, d.input("go") as go:
        go.send(STREAMED_N)
        go.send(5)  # a small one after it, sent the ordinary way: not ahead of the large one
        got = out.take(STREAMED_N + 5, timeout=30)
    assert got == [*range(1, STREAMED_N + 1), *range(1, 6)]


def test_a_streamed_round_robin_keeps_its_turns_across_frames(start: Start) -> None:
    d = start("streamed", {"Workers": 3})
    with d.output("rr_out") as out, d.input("go_rr") as go:
        go.send(STREAMED_N)
        got = by_member(out.take(STREAMED_N, timeout=30))
    assert got == {m: [["r", x] for x in range(m, STREAMED_N, 3)] for m in range(3)}


def test_malformed_client_input_gets_an_error_reply_and_the_port_keeps_serving(start: Start) -> None:
    d = start("echo")
    with d.output("out") as out, d.input("in") as inp:
        inp.send_raw(b"{not json\n")
        inp.send(42)  # the port declares of=str
        errors = inp.errors(timeout=5)
        while len(errors) < 2:
            more = inp.errors(timeout=5)
            assert more, f"expected two error replies, got {errors}"
            errors += more
        assert "malformed JSON" in errors[0] and "expected a value of type str" in errors[1]
        inp.send("still here")
        assert out.take(1) == ["STILL HERE"]


def _raw_attempts(addr: tuple[str, int], secret_guess: bytes) -> list[str]:
    """Three hostile connections to an internal port; returns how each ended."""
    ends: list[str] = []
    # 1. garbage instead of a handshake
    with socket.create_connection(addr, timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n" + b"\xff" * 200)
        s.settimeout(8)
        data = s.recv(100)  # the challenge, then EOF
        while True:
            chunk = s.recv(100)
            if not chunk:
                break
        ends.append(f"garbage: closed after {len(data)} bytes")

    # 2. a client that knows the protocol but not the secret, then sends a frame anyway
    async def wrong_secret() -> str:
        r, w = await asyncio.open_connection(*addr)
        try:
            await client_handshake(r, w, secret_guess, {"loc": 1, "member": 0}, timeout=5)
            return "accepted?!"
        except Exception as e:
            return f"wrong secret: {type(e).__name__}"
        finally:
            w.write(pack_frame(b"M\x90"))
            w.close()

    ends.append(asyncio.run(wrong_secret()))
    # 3. an oversized frame announced before any handshake
    with socket.create_connection(addr, timeout=5) as s:
        s.sendall(b"\xff\xff\xff\xff")
        s.settimeout(8)
        while s.recv(100):
            pass
        ends.append("oversized: closed")
    return ends



def _logged(d: Any, text: str, timeout: float = 10.0) -> bool:
    """Whether a child logged ``text``: its log lines reach this process through a pipe a
    reader thread forwards, so a line written just before may arrive a little later."""
    deadline = time.monotonic() + timeout
    while True:
        if any(text in line for line in d.logs):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)

def test_internal_port_rejects_unauthenticated_and_malformed_connections_and_keeps_serving(start: Start) -> None:
    d = start("faults", {"Workers": 2})
    addr = d.internal_address("Leader")
    ends = _raw_attempts(addr, b"not the secret".ljust(32, b"!"))
    assert ends[1] == "wrong secret: AuthError", ends
    with d.output("pong") as out, d.input("ping") as inp:
        inp.send("after attacks")
        assert out.take(1) == [["pong", "after attacks"]]
    with d.output("ordered_out") as out, d.input("ordered") as inp:
        inp.send(1)
        assert sorted(map(tuple, out.take(2))) == [(0, ["o", 1]), (1, ["o", 1])]  # type: ignore[arg-type]
    assert d.stats("Leader")["rejected"] >= 3
    assert _logged(d, "rejected an unauthenticated connection")


def test_an_authenticated_peer_sending_a_malformed_frame_loses_only_its_own_channel(start: Start) -> None:
    d = start("faults", {"Workers": 2}, on_failure="continue")
    d.kill("Workers", 1)
    secret: bytes = d._secret  # pyright: ignore[reportPrivateUsage]
    leader = d.internal_address("Leader")
    workers_loc = next(i.loc.id for i in d.instances if i.loc.name == "Workers")

    async def impostor() -> bytes:
        r, w = await asyncio.open_connection(*leader)
        await client_handshake(r, w, secret, {"loc": workers_loc, "member": 1, "incarnation": 0}, timeout=5)
        w.write(pack_frame(b"P this is not a pickle"))
        await w.drain()
        rest = await asyncio.wait_for(r.read(), 5)  # the leader closes the channel
        w.close()
        return rest

    assert asyncio.run(impostor()) == b""
    with d.output("ordered_out") as out, d.input("ordered") as inp:
        inp.send(7)
        assert out.take(1) == [[0, ["o", 7]]]  # member 0 still served
    assert _logged(d, "undecodable frame payload")


def test_a_dead_peer_does_not_crash_its_senders_and_fail_stop_holds(start: Start) -> None:
    # Hydro issue #3130: a process sending to a dead peer must not crash.
    d = start("faults", {"Workers": 2}, on_failure="continue")
    with d.output("ordered_out") as out, d.input("ordered") as inp:
        inp.send(1)
        assert sorted(m for m, _ in out.take(2)) == [0, 1]
        d.kill("Workers", 1)
        for x in range(2, 200):  # keep sending towards the dead member
            inp.send(x)
        got = out.take(198)
        assert all(m == 0 for m, _ in got) and [v[1] for _, v in got] == list(range(2, 200))
    stats = d.stats("Leader")
    link = stats["links"]["Workers/1"]
    assert link["up"] is False and link["held"] + link["dropped"] > 0  # held (bounded) for a restart, or dropped
    assert _alive(d.pids()["Leader"]) and _alive(d.pids()["Workers/0"])


def test_a_restarted_member_resumes_every_channel_as_a_new_incarnation(start: Start) -> None:
    d = start("faults", {"Workers": 2}, on_failure="continue")
    d.kill("Workers", 1)
    d.restart("Workers", 1)
    with d.output("loose_out") as lout, d.input("loose") as linp, d.output("ordered_out") as oout, d.input(
        "ordered"
    ) as oinp:
        deadline = time.monotonic() + 20
        seen: set[int] = set()
        x = 0
        while 1 not in seen and time.monotonic() < deadline:  # the leader reconnects with backoff
            x += 1
            linp.send(x)
            seen |= {m for m, _ in lout.drain(quiet=0.2, timeout=1)}
        assert 1 in seen, "the restarted member never got NoOrder messages again"
        oinp.send_many(range(100, 150))
        got = oout.take(100, timeout=10)
        by_member: dict[int, list[int]] = defaultdict(list)
        for m, (_, v) in got:
            by_member[m].append(v)
        # the ordered channel resumed with the new incarnation: all of it, in order, once
        assert by_member == {0: list(range(100, 150)), 1: list(range(100, 150))}


def test_a_failing_child_stops_the_whole_deployment(start: Start) -> None:
    d = start("crash", {"Workers": 2})
    with d.input("in") as inp:
        inp.send(0)  # 1 // 0 in every worker
    assert d.wait(20), "the deployment did not stop after a child failed"
    assert d.failures and "exited unexpectedly" in d.failures[0]
    assert "ZeroDivisionError" in d.failures[0]  # the child's last output, caught before reporting
    with pytest.raises(DeploymentError, match="the deployment failed"):
        d.__exit__(None, None, None)


def test_a_program_that_fails_to_build_reports_the_error(tmp_path: Any) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def build(flow):\n    raise RuntimeError('boom while building')\n")
    with pytest.raises(RuntimeError, match="boom while building"):
        Localhost(log=lambda _: None).start(f"{bad}:build")


def test_cli_run_serves_until_duration_and_prints_ports() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hydrologic", "run", f"{PROGS}:spread", "--cluster", "Workers=2", "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "external input 'bcast': msgpack at 127.0.0.1:" in proc.stdout
    assert "running 3 process(es)" in proc.stdout


def test_cli_run_rejects_a_bad_cluster_flag() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hydrologic", "run", f"{PROGS}:spread", "--cluster", "Workers"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "expected NAME=N" in proc.stderr


def _children_of(pid: int) -> list[int]:
    out: list[int] = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "launcher-killed"])
def test_cli_run_leaves_no_orphans(sig: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "hydrologic", "run", f"{PROGS}:spread", "--cluster", "Workers=2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    children: list[int] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "running 3 process(es)" in line:
                break
        children = _children_of(proc.pid)
        assert len(children) == 3
        proc.send_signal(sig)
        proc.wait(20)
        deadline = time.monotonic() + 15
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [c for c in children if _alive(c)], "children outlived their launcher"
    finally:
        proc.kill()
        proc.wait()
        for c in children:
            if _alive(c):
                os.kill(c, signal.SIGKILL)


def test_deploy_function_behind_flowbuilder_deploy_checks_the_program_address() -> None:
    from hydrologic.deploy import deploy
    from hydrologic.lang.program import load_program

    build, _ = load_program(f"{PROGS}:spread")
    flow = hl.FlowBuilder()
    build(flow)
    with pytest.raises(hl.UsageError, match="needs the program's address"):
        deploy(flow, Localhost(log=lambda _: None), cluster_sizes={"Workers": 2})
    with pytest.raises(hl.UsageError, match="builds a different program"):
        deploy(flow, Localhost(log=lambda _: None), program=f"{PROGS}:echo", cluster_sizes={"Workers": 2})
    with deploy(flow, Localhost(log=lambda _: None), program=f"{PROGS}:spread", cluster_sizes={"Workers": 2}) as d:
        with d.output("rr_out") as out, d.input("rr") as inp:
            inp.send_many([1, 2])
            assert sorted(map(tuple, out.take(2))) == [(0, ["r", 1]), (1, ["r", 2])]  # type: ignore[arg-type]


def test_an_ordered_port_serves_one_client_at_a_time_an_unordered_one_many(start: Start) -> None:
    d = start("many_clients")
    with d.output("ordered_out") as out, d.input("ordered") as first, d.input("ordered") as second:
        first.send_many(["a"])
        assert out.take(1) == ["a"]
        second.send_many(["intruder"])
        errors = second.errors(timeout=5.0)
        assert errors and "already has a client" in errors[0] and "order=NoOrder" in errors[0]
        first.send_many(["b"])  # the first client keeps being served, in order
        assert out.take(1) == ["b"]
    with d.output("shared_out") as out, d.input("shared") as one, d.input("shared") as two:
        one.send_many(["x"])
        two.send_many(["y"])
        assert sorted(out.take(2)) == ["x", "y"]


def test_the_main_job_runs_on_local_processes() -> None:
    """README's main command: examples/wordcount.py deployed as 1 leader + 3 worker processes."""
    import re

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        [sys.executable, os.path.join("examples", "wordcount.py")], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1:10] == [
        "brown    1", "dog      1", "end      1", "fox      1", "jumps    1",
        "lazy     1", "over     1", "quick    1", "the      3",
    ]
    # the first line names what was started, with real pids: those of the deployment's processes
    started = re.fullmatch(
        r"\[hydrologic\] started 4 local processes, connected over TCP on 127\.0\.0\.1: Leader \(pid (\d+)\) and "
        r"Workers \(3 members, pids (\d+), (\d+), (\d+)\); this script is their external client",
        lines[0],
    )
    assert started is not None, lines[0]
    assert len(set(started.groups())) == 4 and str(os.getpid()) not in started.groups()
    assert lines[10].startswith("[hydrologic] 2 nondet sites: the only places where two runs may differ")
    assert [line.split(": `")[1].split("`")[0] for line in lines[11:]] == ["round_robin", "snapshot"]
    # the README shows this output, PID standing for each process id
    readme = open(os.path.join(root, "README.md")).read()
    sample = readme.split("python examples/wordcount.py\n```\n", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    patterns = [re.escape(line).replace("PID", r"\d+") for line in sample.splitlines()]
    assert len(patterns) == len(lines) and all(re.fullmatch(p, line) for p, line in zip(patterns, lines)), (sample, lines)
