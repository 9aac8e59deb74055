"""Fix for HL303: drop the nondet site; a top-level running count is deterministic."""

import hydrologic as hl


class Meter: ...


def build(flow: hl.FlowBuilder) -> None:
    flow.require(no_nondet=True)
    meter = flow.process(Meter)
    _, readings = meter.sim_input(int)
    readings.count()
