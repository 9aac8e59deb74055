"""Fix for HL108: snapshot into a tick first, then latest()."""

import hydrologic as hl
from hydrologic import nondet


class Gauge: ...


def build(flow: hl.FlowBuilder) -> None:
    gauge = flow.process(Gauge)
    _, pings = gauge.sim_input(str)
    total = pings.count()
    tick = gauge.tick()
    total.snapshot(tick, nondet("the gauge shows the count as of a tick")).latest()
