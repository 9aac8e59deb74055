"""HL402: a same-tick forward_ref cycle through `count` (count would depend on its own output)."""

import hydrologic as hl
from hydrologic import nondet


class Planner: ...


def build(flow: hl.FlowBuilder) -> None:
    planner = flow.process(Planner)
    _, jobs = planner.sim_input(int)
    tick = planner.tick()
    handle, extra = tick.forward_ref(int)
    everything = jobs.batch(tick, nondet("jobs are planned per tick")).chain(extra)
    n = everything.count()  # expect: HL402
    handle.complete(n.into_stream())
