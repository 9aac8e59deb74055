"""Fix for HL105: batch into a tick and sort the bounded batch."""

import hydrologic as hl
from hydrologic import nondet


class Directory: ...


def build(flow: hl.FlowBuilder) -> None:
    directory = flow.process(Directory)
    _, names = directory.sim_input(str)
    tick = directory.tick()
    names.batch(tick, nondet("each tick sorts the names that have arrived")).sort()
