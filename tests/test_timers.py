"""source_interval: virtual time in-process and in the simulator, advanced by the test."""

from __future__ import annotations

import pytest

import hydrologic as hl
from hydrologic import nondet


class P: ...


def _program() -> tuple[hl.FlowBuilder, hl.SimInput[int], hl.SimOutput[tuple[float, int]]]:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    tick = p.tick()
    ticks = p.source_interval(1.0, nondet("the heartbeat may fire between any two inputs"))
    latest = s.fold(lambda: 0, lambda acc, x: acc + x)
    report = (
        ticks.batch(tick, nondet("a heartbeat reports whatever sum it sees"))
        .cross_singleton(latest.snapshot(tick, nondet("the report may lag the inputs")))
        .all_ticks()
    )
    return flow, inp, report.sim_output()


def test_in_process_timers_fire_on_advance_time() -> None:
    flow, inp, out = _program()
    with flow.run_in_process():
        inp.send_many([1, 2])
        assert out.collect() == []
        hl.advance_time(2.5)
        assert out.collect() == [(1.0, 3), (2.0, 3)]


def test_simulated_timers_fire_when_the_scenario_advances_time() -> None:
    flow, inp, out = _program()
    outcomes: set[tuple[tuple[float, int], ...]] = set()

    def scenario() -> None:
        inp.send_many([1, 2])
        hl.advance_time(1.0)
        outcomes.add(tuple(out.collect()))

    runs = flow.sim().exhaustive(scenario)
    # the one heartbeat may see the sum before, between or after the two inputs
    assert outcomes == {((1.0, 0),), ((1.0, 1),), ((1.0, 3),)}
    assert runs >= 3


def test_a_deployed_location_that_is_behind_on_its_input_gets_no_timer_events() -> None:
    """A location with more than INPUT_LIMIT unprocessed elements delivers no timer events until
    it has caught up: a timeout must see a busy location as paused, not its peers as silent
    (their messages are in the input it has not read). The events come once it catches up."""
    import asyncio
    from typing import Any

    from hydrologic.deploy.node import INPUT_LIMIT, LocationNode

    flow = hl.FlowBuilder()
    p = flow.process(P)
    p.source_interval(0.01, nondet("a clock")).sim_output()
    graph = flow.build()
    loc = graph.locations[0]
    timer = next(n for n in graph.nodes if n.op == "source_interval")

    async def run() -> tuple[int, int]:
        node = LocationNode(graph, loc, None, {}, b"secret")
        delivered: list[Any] = []
        node.rt.deliver = lambda nid, items: delivered.extend(items)  # type: ignore[method-assign]
        node._pending = INPUT_LIMIT + 1  # pyright: ignore[reportPrivateUsage]  # behind on its input
        node._space.clear()  # pyright: ignore[reportPrivateUsage]
        task = asyncio.ensure_future(node._timer(timer))  # pyright: ignore[reportPrivateUsage]
        await asyncio.sleep(0.1)
        while_behind = len(delivered)
        node._pending = 0  # pyright: ignore[reportPrivateUsage]  # a tick caught up
        node._space.set()  # pyright: ignore[reportPrivateUsage]
        await asyncio.sleep(0.1)
        node._stopping = True  # pyright: ignore[reportPrivateUsage]
        task.cancel()
        return while_behind, len(delivered)

    while_behind, after = asyncio.run(run())
    assert while_behind == 0
    assert after >= 5  # ~10 periods passed; the timer resumes (overdue events come at once)


def test_a_deployed_timer_delivers_its_overdue_events_in_one_batch() -> None:
    """Events that fell due while a location could not take them (behind on its input here; a
    long tick or a process the OS did not run are alike) arrive in one delivery, so one tick sees
    the whole pause once: Paxos counts ticks that saw the clock, and one tick per overdue event
    would look like that many silent periods and depose a leader. None is lost or reordered."""
    import asyncio
    from typing import Any

    from hydrologic.deploy.node import INPUT_LIMIT, LocationNode

    flow = hl.FlowBuilder()
    p = flow.process(P)
    p.source_interval(0.01, nondet("a clock")).sim_output()
    graph = flow.build()
    loc = graph.locations[0]
    timer = next(n for n in graph.nodes if n.op == "source_interval")

    async def run() -> list[list[Any]]:
        node = LocationNode(graph, loc, None, {}, b"secret")
        calls: list[list[Any]] = []
        node.rt.deliver = lambda nid, items: calls.append(list(items))  # type: ignore[method-assign]
        node._pending = INPUT_LIMIT + 1  # pyright: ignore[reportPrivateUsage]  # behind on its input
        node._space.clear()  # pyright: ignore[reportPrivateUsage]
        task = asyncio.ensure_future(node._timer(timer))  # pyright: ignore[reportPrivateUsage]
        await asyncio.sleep(0.15)
        node._pending = 0  # pyright: ignore[reportPrivateUsage]  # a tick caught up
        node._space.set()  # pyright: ignore[reportPrivateUsage]
        await asyncio.sleep(0.05)
        node._stopping = True  # pyright: ignore[reportPrivateUsage]
        task.cancel()
        return calls

    calls = asyncio.run(run())
    assert len(calls[0]) >= 5  # ~15 periods were overdue: one delivery has them all
    stamps = [s for call in calls for s in call]
    assert stamps == pytest.approx([0.01 * (i + 1) for i in range(len(stamps))])  # every event, once, in order
