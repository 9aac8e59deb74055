"""Fix for HL105: snapshot the keyed singleton into a tick first."""

import hydrologic as hl
from hydrologic import nondet


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    _, words = counter.sim_input(str)
    counts = words.map(lambda w: (w, 1)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    counts.snapshot(counter.tick(), nondet("the counts as this tick sees them")).into_keyed_stream().entries().all_ticks().sim_output()
