"""Fix for HL108: defer the tick's snapshot."""

import hydrologic as hl
from hydrologic import nondet


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    _, words = counter.sim_input(str)
    counts = words.map(lambda w: (w, 1)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    tick = counter.tick()
    counts.snapshot(tick, nondet("the counts this tick sees")).defer_tick().entries().all_ticks().sim_output()
