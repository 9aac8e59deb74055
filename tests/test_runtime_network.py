"""Networking through the in-process runtime: every channel kind of SPEC §6, exact contents."""

from __future__ import annotations

from typing import Any

import pytest

import hydrologic as hl
from runtime_support import check_idle_noop
from hydrologic import MemberId, nondet


class A: ...


class B: ...


class Workers: ...


class Peers: ...


class Client: ...


ND = nondet("tests: any member assignment is fine")


@pytest.fixture(autouse=True, params=[(True, True), (False, True), (True, False)], ids=["fused", "unfused", "generic"])
def _fusion(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every program runs three times: with element-wise chains fused into their consumer and
    without, both through the generated tick function, and fused through the generic
    operator-by-operator path (``run_node``) that the generated function must match."""
    fuse, compiled = request.param
    monkeypatch.setattr("hydrologic.runtime.tick.FUSION", fuse)
    monkeypatch.setattr("hydrologic.runtime.tick.COMPILE", compiled)
    if not compiled:  # the generic path runs idle operators: check that skipping them is right
        check_idle_noop(monkeypatch)


def m(i: int) -> MemberId[Any]:
    return MemberId(i)


def test_process_to_process_send_keeps_order_across_rounds() -> None:
    flow = hl.FlowBuilder()
    a = flow.process(A)
    b = flow.process(B)
    inp, nums = a.sim_input(int)
    arrived = nums.map(lambda x: x * 10).send(b)
    out = arrived.sim_output()
    seen = arrived.enumerate().sim_output()  # enumerate needs TotalOrder: the channel keeps it
    with flow.run_in_process():
        inp.send_many(range(5))
        inp.send_many(range(5, 8))
        out.assert_yields_only([0, 10, 20, 30, 40, 50, 60, 70])
        assert seen.collect() == [(i, i * 10) for i in range(8)]
        inp.send(99)
        out.assert_yields_only([990])
        assert seen.collect() == [(8, 990)]


def test_process_to_process_chain_of_three_hops() -> None:
    class C: ...

    flow = hl.FlowBuilder()
    a, b, c = flow.process(A), flow.process(B), flow.process(C)
    inp, words = a.sim_input(str)
    out = words.send(b).map(str.upper).send(c).map(lambda w: w + "!").send(a).sim_output()
    with flow.run_in_process():
        inp.send_many(["x", "y", "z"])
        out.assert_yields_only(["X!", "Y!", "Z!"])


def test_cluster_to_process_arrives_keyed_by_member_id() -> None:
    flow = hl.FlowBuilder()
    leader = flow.process(A)
    workers = flow.cluster(Workers)
    me = workers.self_id()
    tagged = workers.source_iter(["p", "q"]).cross_singleton(me).map(lambda t: f"{t[0]}{t[1].raw_id}")
    received = tagged.send(leader)
    entries = received.entries().sim_output()
    per_sender = received.fold(lambda: "", lambda acc, s: acc + s)  # ordered per sender
    with flow.run_in_process(cluster_sizes={workers: 3}) as run:
        assert entries.collect_sorted() == [
            (m(0), "p0"), (m(0), "q0"), (m(1), "p1"), (m(1), "q1"), (m(2), "p2"), (m(2), "q2"),
        ]
        assert run.value(per_sender) == {m(0): "p0q0", m(1): "p1q1", m(2): "p2q2"}


def test_demux_process_to_cluster() -> None:
    flow = hl.FlowBuilder()
    leader = flow.process(A)
    workers = flow.cluster(Workers)
    inp, pairs = leader.sim_input(tuple)
    got = pairs.demux(workers).collect_list()
    with flow.run_in_process(cluster_sizes={workers: 3}) as run:
        inp.send_many([(m(2), "a"), (m(0), "b"), (m(2), "c")])
        inp.send_many([(m(1), "d"), (m(2), "e")])
        assert [run.value(got, member=i) for i in range(3)] == [["b"], ["d"], ["a", "c", "e"]]


def test_demux_to_a_missing_member_is_a_clear_error() -> None:
    flow = hl.FlowBuilder()
    leader = flow.process(A)
    workers = flow.cluster(Workers)
    inp, pairs = leader.sim_input(tuple)
    pairs.demux(workers).for_each(lambda x: None)
    with flow.run_in_process(cluster_sizes={workers: 2}) as run:
        inp.send((m(5), "x"))
        with pytest.raises(hl.HydroRuntimeError, match=r"addressed MemberId\(5\), but Cluster\[Workers\] has 2 member"):
            run.run_until_idle()


def test_cluster_to_cluster_demux_is_keyed_by_sender() -> None:
    flow = hl.FlowBuilder()
    workers = flow.cluster(Workers)
    peers = flow.cluster(Peers)
    me = workers.self_id()
    # Every worker sends its id to peer (id + 1) % 2.
    sent = workers.source_iter([0]).cross_singleton(me).map(lambda t: (m((t[1].raw_id + 1) % 2), t[1].raw_id * 100))
    got = sent.demux(peers).entries().weaken_ordering().fold(
        lambda: (), lambda acc, e: tuple(sorted(acc + (e,))), commutative=hl.proof("sorted tuple")
    )
    with flow.run_in_process(cluster_sizes={workers: 3, peers: 2}) as run:
        assert run.value(got, member=0) == ((m(1), 100),)
        assert run.value(got, member=1) == ((m(0), 0), (m(2), 200))


def test_broadcast_reaches_every_member_in_order() -> None:
    flow = hl.FlowBuilder()
    leader = flow.process(A)
    workers = flow.cluster(Workers)
    inp, msgs = leader.sim_input(str)
    got = msgs.broadcast(workers, ND).collect_list()
    with flow.run_in_process(cluster_sizes={workers: 4}) as run:
        inp.send_many(["x", "y"])
        inp.send("z")
        assert [run.value(got, member=i) for i in range(4)] == [["x", "y", "z"]] * 4


def test_round_robin_spreads_in_turn_across_sends() -> None:
    flow = hl.FlowBuilder()
    leader = flow.process(A)
    workers = flow.cluster(Workers)
    inp, nums = leader.sim_input(int)
    got = nums.round_robin(workers, ND).collect_list()
    back = nums.round_robin(workers, ND).map(lambda x: x * 2).send(leader)
    total = back.values().fold(lambda: 0, lambda a, b: a + b, commutative=hl.proof("addition"))
    with flow.run_in_process(cluster_sizes={workers: 3}) as run:
        inp.send_many([0, 1, 2, 3])
        inp.send_many([4, 5, 6])  # the turn continues where the last send stopped
        assert [run.value(got, member=i) for i in range(3)] == [[0, 3, 6], [1, 4], [2, 5]]
        assert run.value(total) == 2 * sum(range(7))


def test_external_ports_in_and_out() -> None:
    flow = hl.FlowBuilder()
    server = flow.process(A)
    client = flow.external(Client)
    reqs = server.source_external(client, name="requests", of=str)
    reqs.map(lambda r: f"echo:{r}").send_external(client, name="responses")
    with flow.run_in_process() as run:
        run.external_send("requests", ["hi", "there"])
        assert run.external_collect("responses") == ["echo:hi", "echo:there"]
        assert run.external_collect("responses") == []
        run.external_send("requests", ["again"])
        assert run.external_collect("responses") == ["echo:again"]
        with pytest.raises(hl.UsageError, match=r"no external input port named 'nope'; known: \['requests'\]"):
            run.external_send("nope", [])


def test_sim_input_on_a_cluster_needs_a_member() -> None:
    flow = hl.FlowBuilder()
    workers = flow.cluster(Workers)
    inp, nums = workers.sim_input(int)
    total = nums.fold(lambda: 0, lambda a, b: a + b)
    with flow.run_in_process(cluster_sizes={workers: 2}) as run:
        inp.send_many([1, 2], member=1)
        assert run.value(total, member=0) == 0
        assert run.value(total, member=1) == 3
        with pytest.raises(hl.UsageError, match="pass member=0..1"):
            inp.send(5)


def test_ping_pong_between_two_processes_until_a_condition() -> None:
    """A cycle across locations: each hop is a network send and a tick on the receiver."""
    flow = hl.FlowBuilder()
    a = flow.process(A)
    b = flow.process(B)
    fwd, replies = a.forward_ref(int)
    volleys = a.source_iter([0]).chain(replies)
    at_b = volleys.send(b)
    fwd.complete(at_b.map(lambda n: n + 1).filter(lambda n: n < 5).send(a))
    seen_at_a = volleys.sim_output()
    seen_at_b = at_b.collect_list()
    with flow.run_in_process() as run:
        ticks = run.run_until_idle()
        assert seen_at_a.collect() == [0, 1, 2, 3, 4]
        assert run.value(seen_at_b) == [0, 1, 2, 3, 4]
        assert ticks == 10  # five volleys, each one tick at A and one at B


def test_cluster_to_cluster_broadcast_is_keyed_by_sender() -> None:
    flow = hl.FlowBuilder()
    workers = flow.cluster(Workers)
    peers = flow.cluster(Peers)
    me = workers.self_id()
    hello = workers.source_iter(["hi"]).cross_singleton(me).map(lambda t: f"{t[0]} from {t[1].raw_id}")
    got = hello.broadcast(peers, ND).entries().weaken_ordering().fold(
        lambda: (), lambda acc, e: tuple(sorted(acc + (e,))), commutative=hl.proof("sorted tuple")
    )
    with flow.run_in_process(cluster_sizes={workers: 2, peers: 3}) as run:
        for member in range(3):
            assert run.value(got, member=member) == ((m(0), "hi from 0"), (m(1), "hi from 1"))


def test_demux_groups_by_member_in_order_and_reports_every_bad_element() -> None:
    """The fast path (exact 2-tuples of an exact MemberId) and the general check agree: a tuple
    subclass naming a member is routed; out-of-range ids, non-pairs and lists are reported."""
    from typing import NamedTuple

    from hydrologic.runtime.routing import route

    class Pair(NamedTuple):
        to: hl.MemberId[Any]
        value: int

    m0, m1 = hl.MemberId[Any](0), hl.MemberId[Any](1)
    items: list[Any] = [(m1, 1), (m0, 2), Pair(m1, 3), (hl.MemberId[Any](2), 4), ("m0", 5), (m0,), [m0, 6], (m1, 7, 8), (m0, 9)]
    bad: list[Any] = []
    assert route("demux", 2, items, {}, 0, bad.append) == [(1, [1, 3]), (0, [2, 9])]
    assert bad == [(hl.MemberId[Any](2), 4), ("m0", 5), (m0,), [m0, 6], (m1, 7, 8)]
