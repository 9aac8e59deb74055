"""HL105: `lookup_keyed_singleton` needs a bounded table; a top-level fold changes over time."""

import hydrologic as hl


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    _, words = counter.sim_input(str)
    counts = words.map(lambda w: (w, 1)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    asked = counter.source_iter([(1, "spam")]).into_keyed().first()
    asked.lookup_keyed_singleton(counts)  # expect: HL105
