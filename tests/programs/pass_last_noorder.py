"""Fix for HL101: sort() the bounded batch inside the tick, then take the last (latest) timestamp."""

import hydrologic as hl
from hydrologic import nondet


class Hub: ...


def build(flow: hl.FlowBuilder) -> None:
    hub = flow.process(Hub)
    _, primary = hub.sim_input(float)
    _, backup = hub.sim_input(float)
    tick = hub.tick()
    stamps = primary.merge_unordered(backup).batch(tick, nondet("heartbeats are grouped by arrival tick"))
    stamps.sort().last()
