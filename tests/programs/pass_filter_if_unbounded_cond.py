"""Fix for HL105: snapshot the condition into the tick."""

import hydrologic as hl
from hydrologic import nondet


class Gate: ...


def build(flow: hl.FlowBuilder) -> None:
    gate = flow.process(Gate)
    _, opens = gate.sim_input(int)
    is_open = opens.count().map(lambda n: n % 2 == 1)
    items = gate.source_iter([1, 2])
    tick = gate.tick()
    items.batch(tick, nondet("a tick")).filter_if(is_open.snapshot(tick, nondet("the gate as this tick sees it"))).all_ticks().sim_output()
