"""Fix for HL102: count the exactly-once readings, then sample the count."""

import hydrologic as hl
from hydrologic import nondet


class Meter: ...


def build(flow: hl.FlowBuilder) -> None:
    meter = flow.process(Meter)
    _, readings = meter.sim_input(float)
    readings.count().sample_every(1.0, nondet("the clock picks the samples")).sim_output()
