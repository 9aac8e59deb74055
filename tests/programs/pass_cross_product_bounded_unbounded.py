"""Fix for HL106: keep the sizes in the tick and batch the colours into the same tick."""

import hydrologic as hl
from hydrologic import nondet


class Tailor: ...


def build(flow: hl.FlowBuilder) -> None:
    tailor = flow.process(Tailor)
    tick = tailor.tick()
    sizes = tick.source_iter(["S", "M", "L"])
    _, colours = tailor.sim_input(str)
    sizes.cross_product(colours.batch(tick, nondet("new colours are combined in the tick they arrive"))).all_ticks().sim_output()
