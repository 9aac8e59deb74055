"""HL108: `defer_tick` hands a tick's map to the next tick; a top-level map is not in a tick."""

import hydrologic as hl


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    _, words = counter.sim_input(str)
    counts = words.map(lambda w: (w, 1)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    counts.defer_tick()  # expect: HL108
