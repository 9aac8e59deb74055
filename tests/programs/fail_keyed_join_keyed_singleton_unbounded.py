"""HL105: `join_keyed_singleton` needs a bounded keyed singleton; a top-level fold changes over time."""

import hydrologic as hl


class Ledger: ...


def build(flow: hl.FlowBuilder) -> None:
    ledger = flow.process(Ledger)
    _, words = ledger.sim_input(str)
    counts = words.map(lambda w: (w, 1)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    per_key = ledger.source_iter([("a", 1)]).into_keyed()
    per_key.join_keyed_singleton(counts)  # expect: HL105
