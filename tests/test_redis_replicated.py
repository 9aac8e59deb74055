"""The Paxos-replicated Redis-compatible store (examples/redis_replicated.py).

* the tagged state machine on its own (repeats applied once, each client's order restored);
* in one process: SET then GET through the log; INCRs of two clients linearize;
* the simulator (fuzz): every replica applies the same sequence, and the replies agree with one
  sequential order of the commands;
* deployed over real processes, driven by the ``redis`` Python client; one replica process is
  killed under load, and every acknowledged SET is still readable afterwards.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

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
