"""Fix for HL107: batch the top-level map."""

import hydrologic as hl
from hydrologic import nondet


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    tick = counter.tick()
    _, words = counter.sim_input(str)
    counts = words.map(lambda w: (w, 1)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    counts.batch(tick, nondet("changes")).entries().all_ticks().sim_output()
