"""Fix for HL402: break the cycle across ticks with tick.cycle / complete_next_tick."""

import hydrologic as hl
from hydrologic import nondet


class Planner: ...


def build(flow: hl.FlowBuilder) -> None:
    planner = flow.process(Planner)
    _, jobs = planner.sim_input(int)
    tick = planner.tick()
    handle, extra = tick.cycle(int)
    everything = jobs.batch(tick, nondet("jobs are planned per tick")).chain(extra)
    n = everything.count()
    handle.complete_next_tick(n.into_stream())
