"""HL105: `KeyedSingleton.filter_key_not_in` needs a bounded map; a top-level fold changes over time."""

import hydrologic as hl


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    _, words = counter.sim_input(str)
    counts = words.map(lambda w: (w, 1)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    banned = counter.source_iter(["spam"])
    counts.filter_key_not_in(banned)  # expect: HL105
