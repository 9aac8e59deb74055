"""HL105: `into_keyed_stream` of a live keyed singleton has no fixed set of entries."""

import hydrologic as hl


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    _, words = counter.sim_input(str)
    counts = words.map(lambda w: (w, 1)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    counts.into_keyed_stream()  # expect: HL105
