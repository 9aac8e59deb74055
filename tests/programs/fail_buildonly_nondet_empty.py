"""HL302: nondet("") explains nothing; only the builder can see the reason is empty."""

import hydrologic as hl
from hydrologic import nondet


class Meter: ...


def build(flow: hl.FlowBuilder) -> None:
    meter = flow.process(Meter)
    _, readings = meter.sim_input(int)
    tick = meter.tick()
    readings.batch(tick, nondet(""))  # expect: HL302
