"""Fix for HL105: snapshot the singleton into a tick first."""

import hydrologic as hl
from hydrologic import nondet


class Allocator: ...


def build(flow: hl.FlowBuilder) -> None:
    allocator = flow.process(Allocator)
    _, requests = allocator.sim_input(int)
    highest = requests.fold(lambda: 0, lambda hi, n: max(hi, n))
    tick = allocator.tick()
    highest.snapshot(tick, nondet("ids are handed out from the maximum seen so far")).flat_map_ordered(lambda n: range(n))
