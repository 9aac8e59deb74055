"""Fix for HL302: write the reason."""

import hydrologic as hl
from hydrologic import nondet


class Meter: ...


def build(flow: hl.FlowBuilder) -> None:
    meter = flow.process(Meter)
    _, readings = meter.sim_input(int)
    tick = meter.tick()
    readings.batch(tick, nondet("readings are summed per tick")).all_ticks().sim_output()
