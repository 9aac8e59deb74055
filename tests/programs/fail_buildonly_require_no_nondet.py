"""HL303: flow.require(no_nondet=True), but the program batches into a tick (a nondet site)."""

import hydrologic as hl
from hydrologic import nondet


class Meter: ...


def build(flow: hl.FlowBuilder) -> None:
    flow.require(no_nondet=True)
    meter = flow.process(Meter)
    _, readings = meter.sim_input(int)
    tick = meter.tick()
    readings.batch(tick, nondet("readings are counted per tick")).count()  # expect: HL303
