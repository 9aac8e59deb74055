"""Fix for HL105: snapshot the table into the tick."""

import hydrologic as hl
from hydrologic import nondet


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    _, words = counter.sim_input(str)
    counts = words.map(lambda w: (w, 1)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    asked = counter.source_iter([(1, "spam")]).into_keyed().first()
    tick = counter.tick()
    seen = counts.snapshot(tick, nondet("the counts this tick sees"))
    asked.snapshot(tick, nondet("the questions")).lookup_keyed_singleton(seen).entries().all_ticks().sim_output()
