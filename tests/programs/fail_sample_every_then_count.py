"""HL102: `sample_every` yields AtLeastOnce (a sample may repeat), so `count` is rejected."""

import hydrologic as hl
from hydrologic import nondet


class Meter: ...


def build(flow: hl.FlowBuilder) -> None:
    meter = flow.process(Meter)
    _, readings = meter.sim_input(float)
    readings.sample_every(1.0, nondet("the clock picks the samples")).count()  # expect: HL102
