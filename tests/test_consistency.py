"""Eventual consistency across a cluster's members: derived by the builder, required by
``make_eventually_consistent`` (HL112), dropped by ``weaken_consistency``, claimed by
``assert_has_consistency_of`` (a nondet site the simulator checks, HL612).

The type checkers do not see this guarantee (it is not a type parameter); the failing programs
and their twins in ``tests/programs/`` are build-only for that reason.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import SimulationFailure, sim


class Leader: ...


class Replica: ...


ND = nondet("tests: static membership")


def _flow() -> tuple[hl.FlowBuilder, hl.Process[Leader], hl.Cluster[Replica]]:
    flow = hl.FlowBuilder()
    return flow, flow.process(Leader), flow.cluster(Replica)


def _origin(make: Callable[[hl.FlowBuilder, hl.Process[Leader], hl.Cluster[Replica]], Any]) -> str | None:
    """Build ``make``'s collection and require it: None if consistent, else the HL112 origin line."""
    flow, leader, replicas = _flow()
    coll = make(flow, leader, replicas)
    try:
        coll.make_eventually_consistent()
    except hl.BuildError as e:
        assert e.code == "HL112"
        return str(e)
    return None


def _total(s: Any) -> Any:
    return s.fold(lambda: 0, lambda a, x: a + x, commutative=hl.proof("sum"))


@pytest.mark.parametrize(
    "name,make",
    [
        ("broadcast_closed", lambda f, l, r: _total(l.sim_input(int)[1].broadcast_closed(r))),
        ("broadcast_closed from the cluster", lambda f, l, r: _total(r.source_iter([1]).broadcast_closed(r).values())),
        ("constants", lambda f, l, r: _total(r.source_iter([1, 2])).zip(r.singleton(3))),
        ("delayed-forever channel", lambda f, l, r: _total(l.sim_input(int)[1].broadcast_closed(r, channel=hl.Channel.lossy_delayed_forever()))),
        ("a tick's constant, latest", lambda f, l, r: r.tick().singleton(1).latest()),
        ("claimed", lambda f, l, r: _total(r.sim_input(int)[1]).assert_has_consistency_of(hl.EventualConsistency, ND)),
    ],
)
def test_consistent_collections(name: str, make: Any) -> None:
    assert _origin(make) is None, name


@pytest.mark.parametrize(
    "origin,make",
    [
        ("sim_input", lambda f, l, r: _total(r.sim_input(int)[1])),
        ("self_id", lambda f, l, r: r.self_id()),
        ("round_robin", lambda f, l, r: _total(l.sim_input(int)[1].round_robin(r, ND))),
        ("demux", lambda f, l, r: _total(l.sim_input(tuple[hl.MemberId[Replica], int])[1].demux(r))),
        ("broadcast", lambda f, l, r: _total(l.sim_input(int)[1].broadcast(r, ND))),  # the members of the moment
        ("broadcast_closed", lambda f, l, r: _total(l.sim_input(int)[1].broadcast_closed(r, channel=hl.Channel.lossy(ND)))),
        ("batch", lambda f, l, r: (t := r.tick(), _total(l.sim_input(int)[1].broadcast_closed(r)).snapshot(t, ND).latest())[1]),
        ("weaken_consistency", lambda f, l, r: _total(l.sim_input(int)[1].broadcast_closed(r)).weaken_consistency()),
    ],
)
def test_inconsistent_collections_name_their_origin(origin: str, make: Any) -> None:
    text = _origin(make)
    assert text is not None and f"NoConsistency was introduced by `{origin if origin != 'batch' else 'snapshot'}` at" in text
    assert "test_consistency.py" in text and "fix:" in text and "broadcast" in text


def test_a_process_is_trivially_consistent_and_a_mix_is_not() -> None:
    assert _origin(lambda f, l, r: _total(l.sim_input(int)[1])) is None
    mixed = _origin(lambda f, l, r: _total(l.sim_input(int)[1].broadcast_closed(r)).zip(r.self_id()))
    assert mixed is not None and "`self_id`" in mixed


def test_a_cycle_is_consistent_when_what_enters_it_is_and_build_rechecks() -> None:
    flow, leader, replicas = _flow()
    handle, echo = replicas.forward_ref(int)
    _total(echo).make_eventually_consistent()  # nothing has entered the cycle yet: accepted for now
    handle.complete(replicas.sim_input(int)[1])
    with pytest.raises(hl.BuildError, match="HL112") as info:
        flow.build()
    assert "introduced by `sim_input`" in str(info.value)

    flow, leader, replicas = _flow()
    handle, echo = replicas.forward_ref(int)
    _total(echo).make_eventually_consistent()
    handle.complete(leader.sim_input(int)[1].broadcast_closed(replicas))
    flow.build()


def test_assert_needs_a_nondet_eventual_consistency_and_the_top_level() -> None:
    flow, leader, replicas = _flow()
    total = _total(replicas.sim_input(int)[1])
    with pytest.raises(hl.BuildError, match="HL301|HL302"):
        total.assert_has_consistency_of(hl.EventualConsistency, "because")  # type: ignore[arg-type]
    with pytest.raises(hl.BuildError, match="HL501"):
        total.assert_has_consistency_of(hl.NoConsistency, ND)  # type: ignore[arg-type]
    with pytest.raises(hl.BuildError, match="HL107"):
        total.snapshot(replicas.tick(), ND).assert_has_consistency_of(hl.EventualConsistency, ND)
    total.assert_has_consistency_of(hl.EventualConsistency, nondet("a claim"))
    assert "a claim" in [s.reason for s in flow.nondet_sites()]


def _claimed(broadcast: bool) -> tuple[hl.FlowBuilder, Any, hl.Cluster[Replica]]:
    flow, leader, replicas = _flow()
    inp, cmds = leader.sim_input(int)
    spread = cmds.broadcast_closed(replicas) if broadcast else cmds.round_robin(replicas, ND)
    claim = nondet("every replica sums the same commands")
    total = spread.fold(lambda: 0, lambda a, x: a + x)  # ordered: no proof for the simulator to test first
    total.assert_has_consistency_of(hl.EventualConsistency, claim).make_eventually_consistent()
    return flow, inp, replicas


def test_the_simulator_checks_a_claim_once_the_execution_settles() -> None:
    flow, inp, replicas = _claimed(broadcast=True)
    assert sim(flow, cluster_sizes={replicas: 2}).exhaustive(lambda: inp.send_many([1, 2])) >= 1

    flow, inp, replicas = _claimed(broadcast=False)
    with pytest.raises(SimulationFailure) as info:
        sim(flow, cluster_sizes={replicas: 2}).exhaustive(lambda: inp.send_many([1, 2]))
    err = info.value.original
    assert isinstance(err, hl.ConsistencyClaimError) and err.code == "HL612"
    assert "test_consistency.py" in str(err) and "member 0: 1; member 1: 2" in str(err)


def test_a_keyed_singleton_claim_compares_the_members_maps() -> None:
    for broadcast in (True, False):
        flow, leader, replicas = _flow()
        inp, pairs = leader.sim_input(tuple[str, int])
        spread = pairs.broadcast_closed(replicas) if broadcast else pairs.round_robin(replicas, ND)
        per_key = spread.into_keyed().fold(lambda: 0, lambda a, x: a + x)
        per_key.assert_has_consistency_of(hl.EventualConsistency, nondet("every replica folds the same pairs"))

        def scenario() -> None:
            inp.send_many([("a", 1), ("a", 2)])

        if broadcast:
            assert sim(flow, cluster_sizes={replicas: 2}).exhaustive(scenario) == 1
            continue
        with pytest.raises(SimulationFailure) as info:
            sim(flow, cluster_sizes={replicas: 2}).exhaustive(scenario)
        assert "member 0: {'a': 1}; member 1: {'a': 2}" in str(info.value.original)


def test_an_execution_with_member_crashes_is_not_checked() -> None:
    flow, inp, replicas = _claimed(broadcast=False)
    # the claim is false, but under a crash budget members need not converge, so it is not checked
    n = sim(flow, cluster_sizes={replicas: 2}).exhaustive(lambda: inp.send_many([1, 2]), crashes=1)
    assert n > 1


def test_in_process_runs_carry_the_claimed_value() -> None:
    flow, leader, replicas = _flow()
    inp, cmds = leader.sim_input(int)
    total = _total(cmds.broadcast_closed(replicas))
    out = total.weaken_consistency().assert_has_consistency_of(hl.EventualConsistency, ND).make_eventually_consistent()
    snap = out.snapshot(replicas.tick(), ND).all_ticks().sim_output()
    with flow.run_in_process(cluster_sizes={replicas: 2}) as run:
        inp.send_many([1, 2])
        run.run_until_idle()
        assert snap.collect()[-2:] == [3, 3]  # both members hold 3
