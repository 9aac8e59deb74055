"""hydrologic.std: building blocks written in hydrologic, run in-process."""

from __future__ import annotations

import hydrologic as hl
from hydrologic.std import join_responses, partition_by_key, reached_quorum


class Leader: ...


class Workers: ...


def test_quorum_releases_each_key_once_when_it_reaches_the_threshold() -> None:
    flow = hl.FlowBuilder()
    leader = flow.process(Leader)
    inp, votes = leader.sim_input(tuple)
    keyed = votes.weaken_ordering().into_keyed()
    out = reached_quorum(keyed, 2).sim_output()
    flow.require(no_nondet=True)  # quorum is deterministic: no nondet site
    with flow.run_in_process():
        inp.send_many([("a", 1), ("b", 1)])
        assert out.collect() == []
        inp.send_many([("a", 2), ("a", 3), ("b", 2)])
        assert sorted(out.collect()) == ["a", "b"]
        inp.send_many([("a", 4)])
        assert out.collect() == []  # already released


def test_quorum_of_cluster_responses() -> None:
    flow = hl.FlowBuilder()
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    acks = workers.source_iter(["txn1", "txn2"]).send(leader)  # KeyedStream[MemberId, str]
    by_txn = acks.entries().map(lambda e: (e[1], e[0])).into_keyed()
    out = reached_quorum(by_txn, 3).sim_output()
    with flow.run_in_process(cluster_sizes={Workers: 3}):
        assert sorted(out.collect()) == ["txn1", "txn2"]


def test_join_responses_pairs_whichever_arrives_first() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Leader)
    req_in, reqs = p.sim_input(tuple)
    resp_in, resps = p.sim_input(tuple)
    out = join_responses(reqs, resps.weaken_ordering()).sim_output()
    with flow.run_in_process():
        resp_in.send_many([(2, "pong2")])
        req_in.send_many([(1, "ping1"), (2, "ping2")])
        assert out.collect() == [(2, ("ping2", "pong2"))]
        resp_in.send_many([(1, "pong1")])
        assert out.collect() == [(1, ("ping1", "pong1"))]


def test_partition_by_key_is_stable_and_spreads_keys() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Leader)
    workers = flow.cluster(Workers)
    words = p.source_iter(["a", "b", "c", "d", "a", "b", "c", "d"])
    routed = partition_by_key(words, lambda w: w, p.cluster_members(workers)).demux(workers)
    seen = routed.map(lambda w: w).sim_output()
    ids = workers.self_id()
    tagged = routed.cross_singleton(ids).sim_output()
    with flow.run_in_process(cluster_sizes={Workers: 3}):
        assert sorted(seen.collect()) == sorted(["a", "b", "c", "d"] * 2)
        placement: dict[str, set[int]] = {}
        for w, mid in tagged.collect():
            placement.setdefault(w, set()).add(mid.raw_id)
        assert all(len(m) == 1 for m in placement.values())  # a key always goes to one member


def test_member_id_and_membership_inside_a_tick() -> None:
    flow = hl.FlowBuilder()
    workers = flow.cluster(Workers)
    t = workers.tick()
    batch = workers.source_iter([10]).batch(t, hl.nondet("one batch"))
    tagged = batch.cross_singleton(t.self_id()).map(lambda p: (p[1].raw_id, p[0])).all_ticks().sim_output()
    sizes = batch.cross_singleton(t.cluster_members(workers)).map(lambda p: len(p[1])).all_ticks().sim_output()
    with flow.run_in_process(cluster_sizes={Workers: 3}):
        assert sorted(tagged.collect()) == [(0, 10), (1, 10), (2, 10)]
        assert sizes.collect() == [3, 3, 3]


def test_tick_self_id_on_a_process_is_hl203() -> None:
    flow = hl.FlowBuilder()
    t = flow.process(Leader).tick()
    try:
        t.self_id()  # type: ignore[misc]  # pyright: ignore
    except hl.LocationError as e:
        assert e.code == "HL203"
    else:
        raise AssertionError("expected HL203")
