"""Fix for HL107: snapshot the top-level running count instead."""

import hydrologic as hl
from hydrologic import nondet


class Website: ...


def build(flow: hl.FlowBuilder) -> None:
    website = flow.process(Website)
    _, visits = website.sim_input(str)
    tick = website.tick()
    visits.count().snapshot(tick, nondet("report the count as of this tick")).latest()
