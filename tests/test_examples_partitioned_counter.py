"""examples/partitioned_counter.py: read-after-write and monotonic reads under every explored
schedule (several shard counts), and a deployed run over real processes."""

from __future__ import annotations

from collections import Counter

import pytest

import hydrologic as hl
from examples_support import Deploy, deploy, load_example

__all__ = ["deploy"]

pc = load_example("partitioned_counter")


def test_partitioned_counter_builds_with_two_nondet_sites() -> None:
    flow = hl.FlowBuilder()
    pc.build(flow)
    flow.build()
    assert [s.op for s in flow.nondet_sites()] == ["batch", "snapshot_atomic"]


@pytest.mark.parametrize("shards,executions", [(1, 64), (2, 16), (3, 8)])
def test_acknowledged_increments_are_visible_to_later_reads(shards: int, executions: int) -> None:
    flow = hl.FlowBuilder()
    ports = pc.build_sim(flow)

    def scenario() -> None:
        ports.increment.send_many(["a", "b", "a", "c"])
        ports.acks.assert_yields_unordered(["a", "b", "a", "c"])
        ports.get.send_many(["a", "b", "c", "d"])
        ports.values.assert_yields_only_unordered([("a", 2), ("b", 1), ("c", 1), ("d", 0)])

    runs = flow.sim(cluster_sizes={ports.shards: shards}).exhaustive(scenario)
    assert runs == executions  # measured; a change means exploration changed (fewer is fine if sound)


@pytest.mark.parametrize("shards", [1, 3])
def test_concurrent_reads_may_see_any_count_in_between_and_every_one_is_explored(shards: int) -> None:
    flow = hl.FlowBuilder()
    ports = pc.build_sim(flow)
    seen: set[tuple[int, int]] = set()

    def scenario() -> None:
        ports.increment.send_many(["a", "a", "b"])
        ports.get.send_many(["a", "b"])  # not waiting for the acks: a race
        got = dict(ports.values.next() for _ in range(2))
        seen.add((got["a"], got["b"]))

    flow.sim(cluster_sizes={ports.shards: shards}).exhaustive(scenario)
    assert seen == {(a, b) for a in range(3) for b in range(2)}


def test_reads_of_one_key_never_go_backwards() -> None:
    flow = hl.FlowBuilder()
    ports = pc.build_sim(flow)
    pairs: set[tuple[int, int]] = set()

    def scenario() -> None:
        ports.increment.send_many(["k", "k", "k"])
        ports.get.send("k")
        (_, first) = ports.values.next()
        ports.get.send("k")
        (_, second) = ports.values.next()
        assert first <= second, f"a later read saw {second} after an earlier read saw {first}"
        pairs.add((first, second))

    runs = flow.sim(cluster_sizes={ports.shards: 2}).exhaustive(scenario)
    assert pairs == {(a, b) for a in range(4) for b in range(a, 4)}
    assert runs < 500, runs


@pytest.mark.timeout(60)
def test_partitioned_counter_deployed_on_three_shards(deploy: Deploy) -> None:
    d = deploy("partitioned_counter", {"Shards": 3})
    keys = [f"k{i % 7}" for i in range(50)]
    with d.output("ack") as acks, d.output("value") as values, d.input("increment") as inc, d.input("get") as get:
        inc.send_many(keys)
        assert sorted(acks.take(len(keys), timeout=20)) == sorted(keys)
        asked = sorted(set(keys)) + ["never"]
        get.send_many(asked)
        answers = {k: n for k, n in values.take(len(asked), timeout=20)}
        assert answers == {**Counter(keys), "never": 0}
        inc.send_many(["k1", "k1"])
        assert acks.take(2, timeout=20) == ["k1", "k1"]
        get.send("k1")
        assert values.take(1, timeout=20) == [["k1", Counter(keys)["k1"] + 2]]
