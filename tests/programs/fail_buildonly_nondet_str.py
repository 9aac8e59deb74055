"""HL301: a plain string where a nondet(...) token is required (the static checkers catch it too)."""

import hydrologic as hl


class Meter: ...


def build(flow: hl.FlowBuilder) -> None:
    meter = flow.process(Meter)
    _, readings = meter.sim_input(int)
    tick = meter.tick()
    readings.batch(tick, "readings are summed per tick")  # expect: HL301 static
