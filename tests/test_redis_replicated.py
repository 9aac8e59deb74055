"""The Paxos-replicated Redis-compatible store (examples/redis_replicated.py).

* the tagged state machine on its own (repeats applied once, each client's order restored);
* in one process: SET then GET through the log; INCRs of two clients linearize;
* the simulator (fuzz): every replica applies the same sequence, and the replies agree with one
  sequential order of the commands;
* deployed over real processes, driven by the ``redis`` Python client; one replica process is
  killed under load, and every acknowledged SET is still readable afterwards;
* deployed, driven by the real ``redis-cli`` (Debian redis-tools): the commands, Redis's own
  errors, several commands piped on one connection;
* deployed, under write load, killing a replica that is not the leader, and killing one acceptor
  (f = 1 of 3): writes keep being acknowledged, no acknowledged write is lost and no increment is
  applied twice; values are read back with ``redis-cli``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis_cli_support import assert_core_commands, cli, needs_redis_cli, raw

import hydrologic as hl
from hydrologic.deploy import LocalDeployment, Localhost

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "redis_replicated.py")
sys.path.insert(0, str(ROOT / "examples"))

import redis_replicated as rr  # noqa: E402


def c(*words: str) -> list[bytes]:
    return [w.encode() for w in words]


def t(*words: str) -> tuple[bytes, ...]:
    return tuple(c(*words))


# ---- the state machine --------------------------------------------------------------------------


def test_apply_tagged_restores_client_order_and_applies_repeats_once() -> None:
    s = rr.new_state()
    assert rr.apply_tagged(s, (1, 1, t("INCR", "n")))[1] == []  # held: seq 0 has not committed
    assert rr.apply_tagged(s, (2, 0, t("SET", "n", "10")))[1] == [(2, "OK")]
    assert rr.apply_tagged(s, (1, 0, t("GET", "n")))[1] == [(1, b"10"), (1, 11)]
    assert rr.apply_tagged(s, (1, 1, t("INCR", "n")))[1] == []  # a repeat across a leader change
    assert rr.apply_tagged(s, (1, 0, t("GET", "n")))[1] == []
    assert s.store == {b"n": b"11"} and s.held == {}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 4)), max_size=25))
def test_apply_tagged_applies_each_clients_commands_once_in_order(commits: list[tuple[int, int]]) -> None:
    """Whatever order (client, seq) entries commit in, with repeats: each client's commands are
    applied once each, in seq order, each as soon as its predecessors have been (the in-order
    shortcut and the held-back path give what a plain model of the rule gives)."""
    s = rr.new_state()
    model_next: dict[int, int] = {}
    model_held: dict[int, set[int]] = {}
    for client, seq in commits:
        out = rr.apply_tagged(s, (client, seq, t("INCR", f"c{client}s{seq}")))[1]
        expect: list[int] = []
        nxt = model_next.get(client, 0)
        if seq >= nxt:
            model_held.setdefault(client, set()).add(seq)
            while nxt in model_held[client]:
                model_held[client].discard(nxt)
                expect.append(nxt)
                nxt += 1
            model_next[client] = nxt
        assert [cl for cl, _ in out] == [client] * len(expect)
        assert all(r == 1 for _, r in out)  # each INCR of a fresh key, applied once
        assert s.next_seq.get(client, 0) == nxt
    for client, nxt in model_next.items():
        for seq in range(nxt):
            assert s.store[f"c{client}s{seq}".encode()] == b"1"
    assert sum(len(h) for h in s.held.values()) == sum(len(h) for h in model_held.values())


# ---- in one process ------------------------------------------------------------------------------


def _program(**kw: Any) -> tuple[hl.FlowBuilder, rr.Service, hl.SimInput[None], hl.SimOutput[Any]]:
    flow = hl.FlowBuilder()
    replicas = flow.cluster(rr.Replicas)
    clock_in, clock = replicas.sim_input(type(None))
    svc = rr.replicated_store(flow.process(rr.Gateway), replicas, flow.cluster(rr.Acceptors), flow.external(rr.RedisClient), clock, **kw)
    applied = svc.applied.map(lambda a: (a[0], a[1])).cross_singleton(replicas.self_id()).sim_output()
    return flow, svc, clock_in, applied


SIM_SIZES: dict[Any, int] = {rr.Replicas: 3, rr.Acceptors: 3}


def test_set_then_get_through_the_log_in_process() -> None:
    flow, _, clock_in, applied = _program(election_timeout=1, stagger=1)
    with flow.run_in_process(cluster_sizes=SIM_SIZES) as run:
        clock_in.send(None, member=0)  # replica 0 times out and takes office
        run.external_send("redis", [c("SET", "k", "v")], client=1)
        assert run.external_collect("redis", client=1) == ["OK"]
        run.external_send("redis", [c("GET", "k")], client=2)
        assert run.external_collect("redis", client=2) == [b"v"]
        # every replica applied both commands, in the same order
        per: dict[int, list[Any]] = {}
        for entry, member in applied.collect():
            per.setdefault(member.raw_id, []).append(entry)
        assert len(per) == 3 and all(v == per[0] for v in per.values()) and len(per[0]) == 2


def test_increments_of_two_clients_linearize_in_process() -> None:
    flow, _, clock_in, _ = _program(election_timeout=1, stagger=1)
    with flow.run_in_process(cluster_sizes=SIM_SIZES) as run:
        clock_in.send(None, member=0)
        run.external_send("redis", [c("INCR", "n")] * 5 + [c("GET", "n")], client=1)
        run.external_send("redis", [c("INCR", "n")] * 5, client=2)
        a = run.external_collect("redis", client=1)
        b = run.external_collect("redis", client=2)
        incs_a, incs_b = a[:5], b
        assert incs_a == sorted(incs_a) and incs_b == sorted(incs_b)  # each client's own order
        assert sorted(incs_a + incs_b) == list(range(1, 11))  # one sequence of increments
        assert int(a[5]) >= max(incs_a)  # the GET sees at least its own client's increments


# ---- the simulator -------------------------------------------------------------------------------


def test_replicas_agree_and_replies_match_one_sequential_order_sim() -> None:
    flow, svc, clock_in, applied = _program(election_timeout=1, stagger=1)
    a, b = svc.port.client(1), svc.port.client(2)
    runs = [0]

    def scenario() -> None:
        clock_in.send(None, member=0)  # replica 0 campaigns
        a.send_many([c("SET", "k", "a"), c("INCR", "n")])
        b.send_many([c("INCR", "n"), c("GET", "k")])
        clock_in.send(None, member=1)  # replica 1 may campaign too: a leader change, maybe mid-way
        ra = [a.next(), a.next()]
        rb = [b.next(), b.next()]
        logs: dict[int, list[Any]] = {}
        for entry, member in applied.collect():
            logs.setdefault(member.raw_id, []).append(entry)
        # all replicas' applied sequences agree (a prefix of the longest one)
        longest = max(logs.values(), key=len)
        for log in logs.values():
            assert log == longest[: len(log)], logs
        # the longest applied sequence, replayed sequentially, gives exactly the replies seen
        state = rr.new_state()
        replies: dict[int, list[Any]] = {1: [], 2: []}
        for _, command in longest:
            for client, reply in rr.apply_tagged(state, command)[1]:
                replies[client].append(reply)
        assert replies == {1: ra, 2: rb}, (replies, ra, rb)
        assert sorted([ra[1], rb[0]]) == [1, 2] and rb[1] in (None, b"a")
        runs[0] += 1

    flow.sim(cluster_sizes=SIM_SIZES).fuzz(scenario, iterations=SIM_EXECUTIONS, seed=7)
    assert runs[0] == SIM_EXECUTIONS


SIM_EXECUTIONS = 400


# ---- deployed ------------------------------------------------------------------------------------


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


@pytest.fixture
def start() -> Iterator[Callable[[], LocalDeployment]]:
    started: list[LocalDeployment] = []
    logs: list[str] = []

    def go() -> LocalDeployment:
        d = Localhost(log=logs.append, on_failure="continue").start(f"{EXAMPLE}:build", rr.SIZES)
        d.logs = logs  # type: ignore[attr-defined]
        started.append(d)
        return d

    yield go
    for d in started:
        d.stop()
        for pid in d.pids().values():
            assert not _alive(pid), f"child {pid} survived stop()"


@pytest.mark.timeout(60)
def test_deployed_serves_redis_clients_and_survives_killing_a_replica_under_load(start: Callable[[], LocalDeployment]) -> None:
    import redis

    d = start()
    port = d.port("redis").port
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=20)
    assert r.set("greeting", "hello") is True
    assert r.get("greeting") == b"hello"
    assert r.incr("n") == 1 and r.incr("n") == 2
    assert r.exists("greeting", "nope") == 1

    acked: dict[str, str] = {}  # key -> last value whose SET was acknowledged
    count = [0]  # acknowledged SETs
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        w = redis.Redis(host="127.0.0.1", port=port, socket_timeout=20)
        i = 0
        try:
            while not stop.is_set():
                key = f"w{i % 50}"
                if w.set(key, str(i)) is True:
                    acked[key] = str(i)
                    count[0] += 1
                i += 1
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    th = threading.Thread(target=writer, daemon=True)
    th.start()
    time.sleep(1.0)
    before = count[0]
    d.kill("Replicas", 0)  # replica 0 is the first to campaign: usually the leader
    time.sleep(3.0)
    stop.set()
    th.join(timeout=25)
    assert not th.is_alive() and not errors, errors
    assert before > 0 and count[0] > before  # writes were acknowledged before and after the kill
    after_kill = r.incr("n")
    assert after_kill == 3
    # no acknowledged write is lost: each key holds its last acknowledged value (one writer)
    for key, value in acked.items():
        assert r.get(key) == value.encode(), key
    r.close()


# ---- deployed, driven by redis-py (and redis-cli where its own replies are the point); faults under load ----

def _lines(output: str) -> list[str]:
    """redis-cli's replies, one per line; it prints a blank line after an error reply."""
    return [line.strip() for line in output.splitlines() if line.strip()]


def _client(port: int) -> Any:
    """A redis-py client (the `dev` extra): the fault tests need no system tool, so they never skip."""
    import redis

    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=20)


def _log_tail(d: LocalDeployment, n: int = 40) -> str:
    return "\n".join(getattr(d, "logs", [])[-n:])


@pytest.mark.timeout(60)
def test_deployed_malformed_requests_get_an_error_and_acknowledged_writes_survive(start: Callable[[], LocalDeployment]) -> None:
    d = start()
    port = d.port("redis").port
    r = _client(port)
    assert r.set("raw:kept", "v1") is True
    # the requests before a broken array are answered (through the log), then the connection closes
    assert raw(port, b"PING\r\nGET raw:kept\r\n*2\r\n$3\r\nGET\r\n$xx\r\nPING\r\n") == (
        b"+PONG\r\n$2\r\nv1\r\n-ERR Protocol error: invalid bulk length\r\n"
    )
    assert raw(port, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$999999999\r\n").startswith(b"-ERR Protocol error: invalid bulk length")
    assert raw(port, bytes(range(256)) * 4).startswith(b"-ERR")
    # the gateway keeps serving, and the acknowledged write is still there
    assert r.get("raw:kept") == b"v1"
    assert r.set("raw:after", "v2") is True and r.get("raw:after") == b"v2"
    r.close()
    assert any("Protocol error" in line for line in d.logs), _log_tail(d)  # type: ignore[attr-defined]
    assert not d.failures, d.failures


@needs_redis_cli
@pytest.mark.timeout(60)
def test_deployed_serves_redis_cli(start: Callable[[], LocalDeployment]) -> None:
    d = start()
    port = d.port("redis").port
    assert_core_commands(port)  # the first command waits for a leader to take office
    assert cli(port, "EXISTS", "cli:n") == "0" and cli(port, "GET", "cli:n") == ""
    assert cli(port, "FOO", "bar").startswith("ERR unknown command 'FOO'")
    assert cli(port, "GET") == "ERR wrong number of arguments for 'get' command"
    assert cli(port, "SET", "cli:only-a-key") == "ERR wrong number of arguments for 'set' command"
    # errors go through the log like any command: the store keeps serving afterwards
    assert cli(port, "PING") == "PONG" and cli(port, "GET", "cli:greeting") == "hello world"
    assert cli(port, "INCR", "cli:fresh") == "1"
    # several commands on one connection, from stdin, an error among them; replies in order
    piped = _lines(cli(port, stdin="SET cli:s 1\nINCR cli:s\nGET cli:s\nFOO\nGET\nINCR cli:s\nDEL cli:s\nEXISTS cli:s\nPING\n"))
    assert len(piped) == 9, piped
    assert piped[:3] == ["OK", "2", "2"], piped
    assert piped[3].startswith("ERR unknown command 'FOO'"), piped
    assert piped[4] == "ERR wrong number of arguments for 'get' command", piped
    assert piped[5:] == ["3", "1", "0", "PONG"], piped
    assert cli(port, "GET", "cli:greeting") == "hello world"
    assert not d.failures, d.failures


class _Writer:
    """One client writing as fast as its replies come back, in a thread: ``SET w:<i> <i>`` then
    ``INCR ctr``. Records every acknowledged SET and every INCR reply."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.acked: dict[str, str] = {}  # key -> value, for every acknowledged SET
        self.incrs: list[int] = []  # every INCR reply, in order
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        import redis

        w = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=20)
        i = 0
        try:
            while not self.stop.is_set():
                key = f"w:{i}"
                reply = w.set(key, str(i))
                if reply is not True:
                    raise AssertionError(f"SET {key} answered {reply!r}")
                self.acked[key] = str(i)
                self.incrs.append(int(w.incr("ctr")))
                i += 1
        except BaseException as e:  # reported by finish()
            self.errors.append(e)
        finally:
            w.close()

    @property
    def count(self) -> int:
        return len(self.acked)

    def wait_for(self, n: int, timeout: float) -> bool:
        """Until ``n`` SETs in all were acknowledged (False if ``timeout`` passed first, or the
        writer failed)."""
        deadline = time.monotonic() + timeout
        while self.count < n and time.monotonic() < deadline and self.thread.is_alive():
            time.sleep(0.02)
        return self.count >= n

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the writer is stuck waiting for a reply"
        assert not self.errors, self.errors


def _check_nothing_lost(d: LocalDeployment, port: int, writer: _Writer) -> None:
    """Every acknowledged SET is readable (one ``MGET`` on a fresh connection), and the INCR
    replies are exactly 1, 2, 3, ...: none lost, none applied twice across the failure."""
    n = len(writer.incrs)
    assert writer.incrs == list(range(1, n + 1)), [
        (i, v) for i, v in enumerate(writer.incrs, 1) if v != i
    ][:10]
    r = _client(port)
    assert r.get("ctr") == str(n).encode()
    keys = sorted(writer.acked, key=lambda k: int(k.split(":")[1]))
    values = [v.decode() if v is not None else "" for v in r.mget(keys)]
    r.close()
    missing = [(k, v) for k, v in zip(keys, values) if v != writer.acked[k]]
    assert len(values) == len(keys) and not missing, (f"{len(missing)} of {len(keys)} acknowledged SETs lost: {missing[:10]}", _log_tail(d))


def _sent_to_acceptors(d: LocalDeployment) -> list[int]:
    """Frames each replica has sent to the acceptors: only a replica campaigning or leading
    sends any (Prepare, Accept)."""
    out: list[int] = []
    for m in range(rr.SIZES["Replicas"]):
        links: dict[str, dict[str, Any]] = d.stats("Replicas", m, timeout=15)["links"]
        out.append(sum(int(link["sent"]) for label, link in links.items() if label.startswith("Acceptors/")))
    return out


@pytest.mark.timeout(60)
def test_deployed_survives_killing_a_follower_replica_under_load(start: Callable[[], LocalDeployment]) -> None:
    d = start()
    port = d.port("redis").port
    r = _client(port)
    assert r.set("before", "kill") is True  # a leader is in office
    writer = _Writer(port)
    try:
        assert writer.wait_for(20, timeout=20), ("no writes acknowledged before the kill", _log_tail(d))
        # find the leader: the replica whose traffic to the acceptors grows under load
        sent0 = _sent_to_acceptors(d)
        assert writer.wait_for(writer.count + 20, timeout=20), ("writes stalled before the kill", _log_tail(d))
        grew = [b - a for a, b in zip(sent0, _sent_to_acceptors(d))]
        leader = max(range(len(grew)), key=lambda m: grew[m])
        assert grew[leader] > 0, grew
        # kill a follower, the one with the least acceptor traffic (the highest index on a tie)
        victim = max((m for m in range(len(grew)) if m != leader), key=lambda m: (-grew[m], m))
        before = writer.count
        d.kill("Replicas", victim)
        # writes keep being acknowledged without the follower, also once the election timeout
        # (0.5 s plus stagger) has passed several times over
        time.sleep(1.5)
        assert writer.wait_for(before + 100, timeout=20), (
            f"after killing follower Replicas/{victim} (leader Replicas/{leader}, acceptor traffic {grew}), "
            f"only {writer.count - before} writes acknowledged in 20 s",
            _log_tail(d),
        )
    finally:
        writer.finish()
    assert r.get("before") == b"kill"
    _check_nothing_lost(d, port, writer)
    assert r.incr("ctr") == len(writer.incrs) + 1
    r.close()
    assert not d.failures, d.failures


@pytest.mark.timeout(60)
def test_deployed_survives_killing_an_acceptor_under_load(start: Callable[[], LocalDeployment]) -> None:
    d = start()
    port = d.port("redis").port
    r = _client(port)
    assert r.set("before", "kill") is True  # a leader is in office
    writer = _Writer(port)
    try:
        assert writer.wait_for(30, timeout=20), ("no writes acknowledged before the kill", _log_tail(d))
        before = writer.count
        d.kill("Acceptors", 0)  # f = 1: the other two acceptors are a quorum
        time.sleep(1.5)  # several election timeouts: no replica may be deposed or stall for good
        assert writer.wait_for(before + 100, timeout=20), (
            f"after killing Acceptors/0, only {writer.count - before} writes acknowledged in 20 s",
            _log_tail(d),
        )
    finally:
        writer.finish()
    _check_nothing_lost(d, port, writer)
    # and with the Python client too, on its own connection
    assert r.get("before") == b"kill"
    assert r.mget(sorted(writer.acked)) == [writer.acked[k].encode() for k in sorted(writer.acked)]
    assert r.incr("ctr") == len(writer.incrs) + 1
    r.close()
    assert not d.failures, d.failures


# ---- deployed: the gateway killed under load and restarted by the supervisor ------------------------


@pytest.mark.timeout(120)
def test_deployed_gateway_is_restarted_and_clients_go_on_without_double_applies() -> None:
    """SIGKILL the gateway (the process clients connect to) under INCR load. The supervisor
    restarts it on the same port; the clients reconnect and go on. Every acknowledged INCR is
    applied exactly once: the counter ends between the acknowledged count and the attempts (a
    command in flight at the kill may or may not have been applied, as with Redis itself), the
    acknowledged replies are strictly increasing, and a SET acknowledged before the kill reads back."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from hydrologic.deploy import RestartPolicy

    logs: list[str] = []
    d = Localhost(log=logs.append, on_failure=RestartPolicy(backoff=0.05)).start(f"{EXAMPLE}:build", rr.SIZES)
    try:
        port = d.port("redis").port
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=20)
        assert r.set("greeting", "hello") is True
        acked: list[int] = []
        attempts = [0]
        errors: list[BaseException] = []
        stop = threading.Event()

        def writer() -> None:
            # No hidden retries: every INCR sent is counted, and one whose reply was lost with
            # the gateway is an unknown outcome; the client reconnects on its next command.
            w = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, retry=Retry(NoBackoff(), 0))
            try:
                while not stop.is_set():
                    attempts[0] += 1
                    try:
                        acked.append(int(w.incr("ctr")))
                    except (redis.ConnectionError, redis.TimeoutError):
                        time.sleep(0.05)
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        th = threading.Thread(target=writer, daemon=True)
        th.start()
        deadline = time.monotonic() + 20
        while len(acked) < 50 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(acked) >= 50, _log_tail(d)
        old = d.pids()["Gateway"]
        os.kill(old, signal.SIGKILL)
        while not any("Gateway restarted" in l for l in logs) and time.monotonic() < deadline + 20:
            time.sleep(0.05)
        assert d.pids()["Gateway"] != old, _log_tail(d)
        before = len(acked)
        deadline = time.monotonic() + 30
        while len(acked) < before + 50 and time.monotonic() < deadline:
            time.sleep(0.02)
        stop.set()
        th.join(timeout=30)
        assert not th.is_alive() and not errors, errors
        assert len(acked) >= before + 50, ("the clients did not go on after the restart", _log_tail(d))
        assert acked == sorted(set(acked)), "an acknowledged INCR was applied twice"
        final = int(r.get("ctr") or 0)
        assert final >= len(acked) and final >= acked[-1], ("an acknowledged INCR was lost", final, len(acked), acked[-5:])
        assert final <= attempts[0], ("more increments applied than sent", final, attempts[0])
        assert r.get("greeting") == b"hello"
        r.close()
    finally:
        d.stop()
