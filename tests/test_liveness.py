"""``peer_liveness``: a peer's deaths and restarts as a keyed stream a program consumes.

In process and in the simulator, every member opens with ``UP(0)`` and a test injects the rest;
the event sequence per member is enforced by ``LivenessTracker`` in deployments (tested here
directly, and end to end over real processes in ``tests/test_restarts.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

import hydrologic as hl
from hydrologic import Liveness, MemberId
from hydrologic.lang.liveness import LivenessTracker


class Leader: ...


class Workers: ...


class Client: ...


def _program() -> tuple[hl.FlowBuilder, Any, hl.SimOutput[Any]]:
    flow = hl.FlowBuilder()
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    events = leader.peer_liveness(workers)
    out = events.entries().map(lambda kv: (kv[0].raw_id, kv[1])).sim_output()
    return flow, events, out


def test_every_member_opens_up_and_injected_events_reach_the_program() -> None:
    flow, events, out = _program()
    with flow.run_in_process({Workers: 2}):
        assert sorted(out.collect(), key=lambda e: e[0]) == [(0, Liveness.up(0)), (1, Liveness.up(0))]
        hl.inject_liveness(events, 1, Liveness.down(0))
        hl.inject_liveness(events, 1, Liveness.restarted(1))
        assert out.collect() == [(1, Liveness.down(0)), (1, Liveness.restarted(1))]


def test_a_program_reacting_to_restarts_is_explored_by_the_simulator() -> None:
    flow = hl.FlowBuilder()
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    events = leader.peer_liveness(workers)
    restarts = (
        events.filter(lambda ev: ev.kind is hl.LivenessKind.RESTARTED)
        .map(lambda ev: 1)
        .fold(lambda: 0, lambda acc, one: acc + one)
        .entries()
        .map(lambda kv: (kv[0].raw_id, kv[1]))
        .sim_output()
    )
    seen: list[list[Any]] = []

    def scenario() -> None:
        hl.inject_liveness(events, 0, Liveness.down(0))
        hl.inject_liveness(events, 0, Liveness.restarted(1))
        seen.append(sorted(restarts.collect()))

    n = flow.sim({Workers: 2}).exhaustive(scenario)
    assert n >= 1 and all(s and s[-1] == (0, 1) for s in seen)


def test_peer_liveness_is_typed_and_checked_at_build_time() -> None:
    flow = hl.FlowBuilder()
    leader = flow.process(Leader)
    client = flow.external(Client)
    with pytest.raises(hl.LocationError, match="HL203.*needs a Process or a Cluster"):
        leader.peer_liveness(client)  # type: ignore[arg-type]
    other = hl.FlowBuilder().cluster(Workers)
    with pytest.raises(hl.LocationError, match="another FlowBuilder"):
        leader.peer_liveness(other)
    s = leader.peer_liveness(flow.process(Client))
    assert "KeyedStream[Process[Leader], Unbounded, TotalOrder, ExactlyOnce]" in repr(s)
    not_liveness = leader.source_iter([1])
    with flow.run_in_process():
        with pytest.raises(hl.UsageError, match="needs a stream made by peer_liveness"):
            hl.inject_liveness(not_liveness, 0, Liveness.up(0))
        with pytest.raises(hl.UsageError, match="needs a Liveness event"):
            hl.inject_liveness(s, 0, "down")


def test_the_tracker_emits_each_event_once_and_fills_a_missing_death() -> None:
    t = LivenessTracker()
    m = MemberId[Any](0)
    assert t.observe(m, Liveness.up(0)) == [Liveness.up(0)]
    assert t.observe(m, Liveness.up(0)) == []
    # the new incarnation's connection arrives before the supervisor reports the death
    assert t.observe(m, Liveness.restarted(1)) == [Liveness.down(0), Liveness.restarted(1)]
    assert t.observe(m, Liveness.down(0)) == []  # stale
    assert t.observe(m, Liveness.restarted(1)) == []  # duplicate
    assert t.observe(m, Liveness.down(1)) == [Liveness.down(1)]
    assert t.observe(m, Liveness.down(1)) == []
    assert t.observe(m, Liveness.restarted(2)) == [Liveness.restarted(2)]
    # a location that starts while a member is down opens with DOWN
    assert LivenessTracker().observe(m, Liveness.down(3)) == [Liveness.down(3)]
