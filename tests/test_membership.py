"""``source_cluster_members``: a cluster's joins and leaves as a keyed stream, and ``broadcast`` /
``round_robin`` over the current membership.

Membership is a view of the liveness machinery (``peer_liveness``): every driver feeds both
sources the same events, so a restart is ``LEFT`` then ``JOINED``, a member added at run time is
``JOINED`` and a removed one ``LEFT``. In the simulator, joins, leaves and restarts are choices
under a per-test budget (``sim.faults(leaves=, joins=, crashes=)``); the deployed side is in
``tests/test_membership_deploy.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

import hydrologic as hl
from hydrologic import Liveness, MembershipEvent, nondet
from hydrologic.sim import SimulationFailure

JOINED, LEFT = MembershipEvent.JOINED, MembershipEvent.LEFT


class Leader: ...


class Workers: ...


def _events(flow: hl.FlowBuilder) -> tuple[Any, Any, Any]:
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    events = leader.source_cluster_members(workers)
    out = events.entries().map(lambda kv: (kv[0].raw_id, kv[1])).sim_output()
    return workers, events, out


# ---- the API --------------------------------------------------------------------------------


def test_members_open_joined_and_liveness_becomes_leaves_and_joins() -> None:
    flow = hl.FlowBuilder()
    _, events, out = _events(flow)
    with flow.run_in_process({Workers: 3}):
        assert sorted(out.collect()) == [(0, JOINED), (1, JOINED), (2, JOINED)]
        hl.inject_liveness(events, 1, Liveness.down(0))
        hl.inject_liveness(events, 1, Liveness.down(0))  # the same death reported twice: one LEFT
        hl.inject_liveness(events, 1, Liveness.restarted(1))
        hl.inject_liveness(events, 5, Liveness.up(0))  # a member added while running
        assert out.collect() == [(1, LEFT), (1, JOINED), (5, JOINED)]


def test_a_member_down_at_the_start_is_announced_only_when_it_comes_back() -> None:
    flow = hl.FlowBuilder()
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    events = leader.source_cluster_members(workers)
    out = events.entries().map(lambda kv: (kv[0].raw_id, kv[1])).sim_output()
    with flow.run_in_process({Workers: 1}):
        out.collect()
        hl.inject_liveness(events, 3, Liveness.down(2))  # never seen joined: nothing to say
        assert out.collect() == []
        hl.inject_liveness(events, 3, Liveness.restarted(3))
        assert out.collect() == [(3, JOINED)]


def test_source_cluster_members_is_typed_and_checked_at_build_time() -> None:
    flow = hl.FlowBuilder()
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    with pytest.raises(hl.LocationError, match=r"HL203.*needs a Cluster") as e:
        leader.source_cluster_members(leader)  # type: ignore[arg-type]
    assert "peer_liveness" in str(e.value)  # the fix names the liveness of a Process
    with pytest.raises(hl.LocationError, match="HL201.*another FlowBuilder"):
        leader.source_cluster_members(hl.FlowBuilder().cluster(Workers))
    s = leader.source_cluster_members(workers)
    assert "KeyedStream[Process[Leader], Unbounded, TotalOrder, ExactlyOnce]" in repr(s)
    # per member ordered, across members not: entries() is NoOrder
    assert "NoOrder" in repr(s.entries())
    on_members = workers.source_cluster_members(workers)  # members watch their own cluster too
    assert "Cluster[Workers]" in repr(on_members)


# ---- the simulator: restarts, leaves and joins ------------------------------------------------


def test_a_restart_is_left_then_joined_in_step_with_peer_liveness() -> None:
    flow = hl.FlowBuilder()
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    members = leader.source_cluster_members(workers).entries().map(lambda kv: ("m", kv[0].raw_id, kv[1]))
    lives = leader.peer_liveness(workers).entries().map(lambda kv: ("l", kv[0].raw_id, kv[1]))
    both = members.merge_unordered(lives).sim_output()  # one output: one consistent view
    stories: set[tuple[Any, ...]] = set()

    def scenario() -> None:
        seen = both.collect()
        for w in (0, 1):
            m = [e for k, who, e in seen if k == "m" and who == w]
            lv = [e for k, who, e in seen if k == "l" and who == w]
            assert m == [LEFT if e.kind is hl.LivenessKind.DOWN else JOINED for e in lv]  # the same story, twice
            if w == 1:
                stories.add(tuple(m))

    flow.sim({Workers: 2}).faults(crashes=1, locations=[Workers]).exhaustive(scenario)
    assert stories == {(JOINED,), (JOINED, LEFT), (JOINED, LEFT, JOINED)}


def _broadcaster(flow: hl.FlowBuilder, mode: str) -> tuple[Any, Any, Any, Any]:
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    inp, xs = leader.sim_input(int)
    members = leader.source_cluster_members(workers).entries().map(lambda kv: (kv[0].raw_id, kv[1])).sim_output()
    why = nondet("only the members of the moment receive")
    if mode == "broadcast_closed":
        sent = xs.broadcast_closed(workers)
    else:
        sent = xs.broadcast(workers, why) if mode == "broadcast" else xs.round_robin(workers, why)
    got = sent.send(leader).entries().map(lambda kv: (kv[0].raw_id, kv[1])).sim_output()
    return workers, inp, members, got


def test_broadcast_reaches_the_current_members_only() -> None:
    flow = hl.FlowBuilder()
    workers, inp, members, got = _broadcaster(flow, "broadcast")
    receivers: set[tuple[int, ...]] = set()

    def scenario() -> None:
        inp.send(7)
        who = sorted(w for w, _ in got.collect())
        story = members.collect()
        receivers.add(tuple(who))
        assert all((w, JOINED) in story for w in who)  # only members receive (spare 2 once it joined)
        assert len(who) == len(set(who))  # each of them once

    flow.sim({Workers: 2}).faults(leaves=1, joins=1).exhaustive(scenario)
    # the spare member 2 receives when it joined in time; a member that left first does not
    assert {(0, 1), (0, 1, 2), (0,), (1,), (0, 2), (1, 2)} <= receivers


def test_broadcast_closed_reaches_every_member_and_its_cluster_never_changes_members() -> None:
    flow = hl.FlowBuilder()
    workers, inp, members, got = _broadcaster(flow, "broadcast_closed")
    assert flow.nondet_sites() == []  # no membership choice: the members it started with
    receivers: set[tuple[int, ...]] = set()
    stories: set[tuple[Any, ...]] = set()

    def scenario() -> None:
        inp.send(7)
        receivers.add(tuple(sorted(w for w, _ in got.collect())))
        stories.add(tuple(members.collect()))

    # a leave and a join are in the budget, but the simulator never applies them to this cluster
    flow.sim({Workers: 2}).faults(leaves=1, joins=1).exhaustive(scenario)
    assert receivers == {(0, 1)}
    assert all(LEFT not in [e for _, e in story] for story in stories)


def test_deployments_refuse_to_change_a_broadcast_closed_cluster() -> None:
    from hydrologic.deploy.deployment import DeploymentError
    from hydrologic.deploy.supervised import SupervisedDeployment

    flow = hl.FlowBuilder()
    _broadcaster(flow, "broadcast_closed")
    graph = flow.build()

    class Probe(SupervisedDeployment):  # only the location checks, no processes
        def __init__(self) -> None:
            self.graph = graph

    with pytest.raises(DeploymentError, match=r"keeps the members it started with: `broadcast_closed` at .*test_membership.py"):
        Probe()._changeable("Workers")


def test_round_robin_spreads_over_the_current_members() -> None:
    flow = hl.FlowBuilder()
    workers, inp, members, got = _broadcaster(flow, "round_robin")
    spreads: set[tuple[int, ...]] = set()

    def scenario() -> None:
        inp.send_many([1, 2, 3, 4])
        spreads.add(tuple(sorted(w for w, _ in got.collect())))

    flow.sim({Workers: 2}).exhaustive(scenario)
    assert spreads == {(0, 0, 1, 1)}  # a steady membership: an even spread, every element once
    spreads.clear()
    flow.sim({Workers: 2}).faults(joins=1).exhaustive(scenario)
    assert (0, 0, 1, 1) in spreads and any(2 in s and len(s) == 4 for s in spreads)  # the newcomer takes its turn
    assert all(len(s) == 4 for s in spreads)  # a join loses nothing


def test_a_search_takes_its_membership_budget_and_keeps_it() -> None:
    flow = hl.FlowBuilder()
    _, events, out = _events(flow)
    sim = flow.sim({Workers: 2})
    stories: set[tuple[Any, ...]] = set()

    def scenario() -> None:
        stories.add(tuple(out.collect()))

    assert sim.exhaustive(scenario) == 1 and stories == {((0, JOINED), (1, JOINED))}
    n = sim.fuzz(scenario, iterations=200, seed=3, leaves=1)
    assert n == 200 and sim.plan.faults.leaves == 1 and sim.plan.faults.crashes == 0
    assert any((1, LEFT) in s or (0, LEFT) in s for s in stories)
    stories.clear()
    sim.exhaustive(scenario, joins=1)  # adds a join, keeps the leave
    assert sim.plan.faults.leaves == 1 and sim.plan.faults.joins == 1
    assert any((2, JOINED) in s for s in stories) and any(LEFT in (e for _, e in s) for s in stories)


def test_the_membership_budget_is_part_of_the_replay_token() -> None:
    flow = hl.FlowBuilder()
    _events(flow)
    s = flow.sim({Workers: 2})
    plain = s.fingerprint
    assert s.faults(leaves=1).fingerprint != plain
    assert s.faults(leaves=1, joins=1).fingerprint not in (plain, s.faults(leaves=1).fingerprint)
    with pytest.raises(hl.UsageError, match="leaves must be a non-negative int"):
        s.faults(leaves=-1)


# ---- a bug that only a leave shows --------------------------------------------------------------


def _quorum_program(flow: hl.FlowBuilder, *, static: bool) -> tuple[Any, Any]:
    """The leader asks every worker for a vote and announces "done" once all have voted. The
    buggy form counts the static cluster size; the fixed one counts the current members."""
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    ask, asks = leader.sim_input(int)
    votes = asks.broadcast(workers, nondet("the members of the moment vote")).send(leader)
    voted = votes.values().map(lambda _: 1).fold(lambda: 0, lambda a, b: a + b, commutative=hl.proof("a sum"))
    tick = leader.tick()
    if static:
        need = tick.cluster_members(workers).map(len)
    else:
        need = (
            leader.source_cluster_members(workers)
            .last()
            .snapshot(tick, nondet("the members now"))
            .filter(lambda e: e is JOINED)
            .keys()
            .count()
        )
    done = (
        voted.snapshot(tick, nondet("the votes so far"))
        .zip(need)
        .filter(lambda vn: vn[0] >= vn[1])
        .map(lambda _: "done")
        .into_stream()
        .all_ticks()
        .sim_output()
    )
    return ask, done


def _scenario(ask: Any, done: Any) -> Any:
    def scenario() -> None:
        ask.send(1)
        assert done.collect(), "the leader never saw every member vote"

    return scenario


def test_counting_the_static_size_passes_without_leaves_and_fails_with_one() -> None:
    flow = hl.FlowBuilder()
    ask, done = _quorum_program(flow, static=True)
    sim = flow.sim({Workers: 2})
    sim.save_failures = False
    assert sim.exhaustive(_scenario(ask, done)) >= 1
    with pytest.raises(SimulationFailure) as e:
        sim.faults(leaves=1).exhaustive(_scenario(ask, done))
    assert "leave Cluster[Workers]/" in str(e.value)  # the trace names the leave that exposed it


def test_counting_the_current_members_survives_a_leave_but_not_a_late_join() -> None:
    flow = hl.FlowBuilder()
    ask, done = _quorum_program(flow, static=False)
    sim = flow.sim({Workers: 2})
    sim.save_failures = False
    assert sim.faults(leaves=1).exhaustive(_scenario(ask, done)) > 1
    # a member that joins after the ask was broadcast is never asked, yet counted: found too
    with pytest.raises(SimulationFailure, match=r"join Cluster\[Workers\]/2"):
        sim.faults(joins=1).exhaustive(_scenario(ask, done))


def test_membership_faults_with_the_state_cache_and_symmetric_members() -> None:
    # The key covers the fault state, so the cached (and the symmetric) search finds the same
    # membership bugs and passes the same fixed program.
    flow = hl.FlowBuilder()
    ask, done = _quorum_program(flow, static=True)
    sim = flow.sim({Workers: 3})
    sim.save_failures = False
    with pytest.raises(SimulationFailure, match=r"leave Cluster\[Workers\]/"):
        sim.faults(leaves=1).exhaustive(_scenario(ask, done), states=True)
    with pytest.raises(SimulationFailure, match=r"leave Cluster\[Workers\]/"):
        sim.faults(leaves=1).exhaustive(_scenario(ask, done), symmetric=[Workers])
    fixed = hl.FlowBuilder()
    ask2, done2 = _quorum_program(fixed, static=False)
    plain = fixed.sim({Workers: 3})
    n_plain = plain.faults(leaves=1).exhaustive(_scenario(ask2, done2))
    cached = fixed.sim({Workers: 3})
    n_cached = cached.faults(leaves=1).exhaustive(_scenario(ask2, done2), states=True)
    sym = fixed.sim({Workers: 3})
    n_sym = sym.faults(leaves=1).exhaustive(_scenario(ask2, done2), symmetric=[Workers])
    assert cached.last is not None and sym.last is not None and sym.last.states is not None and cached.last.states is not None
    assert cached.last.complete and sym.last.complete
    assert n_sym + sym.last.pruned <= n_cached + cached.last.pruned < n_plain, (n_sym, n_cached, n_plain)
    # no two states of this search differ only by which worker is which (the leader's view of the
    # membership is a map in arrival order), so the symmetric search visits as many
    assert len(sym.last.states.seen) <= len(cached.last.states.seen)
