"""Fix for HL108: call all_ticks on the tick's value."""

import hydrologic as hl
from hydrologic import nondet


class Clock: ...


def build(flow: hl.FlowBuilder) -> None:
    clock = flow.process(Clock)
    _, pings = clock.sim_input(int)
    total = pings.count()
    tick = clock.tick()
    total.snapshot(tick, nondet("the count this tick sees")).all_ticks().sim_output()
