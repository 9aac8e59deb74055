"""examples/sharded_kv.py: keys rebalanced on every join, leave and restart of a shard, checked
by the simulator under a membership budget, the seeded bug (a leave ignored) found only with a
leave, and a deployed run that scales the shards while it serves."""

from __future__ import annotations

from typing import Any

import pytest

import hydrologic as hl
from examples_support import Deploy, deploy, load_example
from hydrologic import MembershipEvent, MemberId
from hydrologic.sim import SimulationFailure

__all__ = ["deploy"]

kv = load_example("sharded_kv")

SEES_MEMBERSHIP = "the router sees joins and leaves some ticks after they happen; until then it routes by the old members"
USES_REPLY = "a reply is used in whichever tick sees it"


def _sim(faults: dict[str, Any], *, keys: int = 1, shards: int = 2, buggy: bool = False) -> tuple[hl.Sim, Any]:
    """The service with ``keys`` puts then as many gets. The router sees each membership change
    and each reply as soon as they arrive (both sites fixed): what is explored is when the
    requests are routed, where shards join, leave or crash, and everything in between."""
    flow = hl.FlowBuilder()
    p = kv.build_sim(flow, rebalance_on_leave=not buggy)
    written = [(k, f"v{k}") for k in "abc"[:keys]]

    def scenario() -> None:
        p.requests.send_many([("put", k, v) for k, v in written])
        p.acks.assert_yields([k for k, _ in written])  # acknowledged ...
        p.requests.send_many([("get", k, "") for k, _ in written])
        p.values.assert_yields_only_unordered(written)  # ... so every read finds it, once

    sim = flow.sim({p.shards: shards}).faults(**faults)
    sim.fix(SEES_MEMBERSHIP, lambda options: options[-1])
    sim.fix(USES_REPLY, lambda options: options[-1])
    sim.save_failures = False
    return sim, scenario


def test_sharded_kv_builds_and_names_its_nondet_sites() -> None:
    flow = hl.FlowBuilder()
    kv.build(flow)
    flow.build()
    assert sorted(s.op for s in flow.nondet_sites()) == ["batch", "batch", "batch", "merge_ordered"]


@pytest.mark.parametrize(
    "faults,keys,executions",
    [
        ({}, 2, 12),
        ({"leaves": 1}, 2, 296),
        ({"joins": 1}, 1, 20),
        ({"leaves": 1, "joins": 1}, 1, 534),
        ({"crashes": 1, "locations": ["Shards"]}, 1, 228),
    ],
    ids=["steady", "leave", "join", "leave+join", "crash+restart"],
)
def test_every_acknowledged_write_is_read_back_across_membership_changes(faults: dict[str, Any], keys: int, executions: int) -> None:
    sim, scenario = _sim(faults, keys=keys)
    assert sim.exhaustive(scenario) == executions  # measured; a change means exploration changed


def test_ignoring_leaves_passes_every_join_and_fails_with_one_leave() -> None:
    sim, scenario = _sim({"joins": 1}, buggy=True)
    assert sim.exhaustive(scenario) == 20  # joins alone never show the bug
    sim, scenario = _sim({"leaves": 1}, buggy=True)
    with pytest.raises(SimulationFailure) as e:
        sim.exhaustive(scenario)
    msg = str(e.value)
    assert "leave Cluster[Shards]/" in msg and "got [('a', None)]" in msg, msg  # read back as never written


def test_a_restart_in_one_batch_still_reloads_the_restarted_shard() -> None:
    """LEFT and JOINED of one member in the same tick leave the member set unchanged; the member
    is empty all the same, so its keys are loaded again (the simulator found this case)."""
    st = kv.RouterState((0, 1), {"a": "1", "b": "2"}, {7: "a"}, 8)
    owner_of_a = kv.owner("a", (0, 1))
    m: MemberId[Any] = MemberId(owner_of_a)
    new, sends, _, _ = kv.router_step(st, [(m, MembershipEvent.JOINED)], [], frozenset())
    assert new.members == (0, 1)
    assert (m, ("load", 0, "a", "1")) in sends and (m, ("get", 7, "a", "")) in sends
    assert all(to == m for to, _ in sends)  # the other member's keys stay where they are


def test_rendezvous_hashing_moves_only_the_keys_of_the_member_that_left() -> None:
    keys = [f"k{i}" for i in range(200)]
    before = {k: kv.owner(k, (0, 1, 2)) for k in keys}
    after = {k: kv.owner(k, (0, 2)) for k in keys}
    assert {k for k in keys if before[k] != after[k]} == {k for k in keys if before[k] == 1}
    assert all(before[k] == 1 for k in keys if before[k] != after[k])
    assert len({before[k] for k in keys}) == 3  # every member owns some keys
    assert kv.owner("k", ()) is None


@pytest.mark.timeout(90)
def test_sharded_kv_deployed_keeps_every_key_while_shards_join_and_leave(deploy: Deploy) -> None:
    d = deploy("sharded_kv", {"Shards": 2})
    keys = [f"k{i}" for i in range(30)]
    with d.input("put") as put, d.output("ack") as acks, d.input("get") as get, d.output("value") as values:
        put.send_many([[k, f"v{k}"] for k in keys[:20]])
        assert sorted(acks.take(20, timeout=20)) == sorted(keys[:20])
        assert d.add_member("Shards") == 2
        put.send_many([[k, f"v{k}"] for k in keys[20:]])  # written while the router rebalances
        assert sorted(acks.take(10, timeout=20)) == sorted(keys[20:])
        assert d.remove_member("Shards", 0) == 0
        assert d.members("Shards") == [1, 2]
        get.send_many(keys)
        got = {k: v for k, v in values.take(len(keys), timeout=20)}
        assert got == {k: f"v{k}" for k in keys}
        get.send("never-written")
        assert values.take(1, timeout=20) == [["never-written", None]]
    assert not d.failed
