"""Fix for HL105: snapshot the total into a tick first."""

import hydrologic as hl
from hydrologic import nondet


class Till: ...


def build(flow: hl.FlowBuilder) -> None:
    till = flow.process(Till)
    _, sales = till.sim_input(int)
    total = sales.fold(lambda: 0, lambda acc, s: acc + s)
    tick = till.tick()
    total.snapshot(tick, nondet("report the total as of each tick")).into_stream().all_ticks().sim_output()
