"""HL107: `KeyedSingleton.batch` takes changes of a top-level map; this one is already in a tick."""

import hydrologic as hl
from hydrologic import nondet


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    tick = counter.tick()
    _, words = counter.sim_input(str)
    counts = words.map(lambda w: (w, 1)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    counts.snapshot(tick, nondet("the counts this tick sees")).batch(tick, nondet("changes"))  # expect: HL107
