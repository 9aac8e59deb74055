"""Fix for HL105: snapshot the map into the tick."""

import hydrologic as hl
from hydrologic import nondet


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    _, words = counter.sim_input(str)
    counts = words.map(lambda w: (w, 1)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    banned = counter.source_iter(["spam"])
    tick = counter.tick()
    seen = counts.snapshot(tick, nondet("the counts this tick sees"))
    seen.filter_key_not_in(banned.batch(tick, nondet("a tick"))).entries().all_ticks().sim_output()
