"""source_interval: virtual time in-process and in the simulator, advanced by the test."""

from __future__ import annotations

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
