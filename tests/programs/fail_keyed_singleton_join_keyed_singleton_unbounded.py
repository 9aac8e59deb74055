"""HL105: `KeyedSingleton.join_keyed_singleton` needs both maps bounded; a top-level fold changes over time."""

import hydrologic as hl


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    _, words = counter.sim_input(str)
    counts = words.map(lambda w: (w, 1)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    names = counter.source_iter([("spam", "S")]).into_keyed().first()
    names.join_keyed_singleton(counts)  # expect: HL105
