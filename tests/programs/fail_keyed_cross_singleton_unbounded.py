"""HL105: keyed `cross_singleton` needs a bounded singleton; a top-level count changes over time."""

import hydrologic as hl


class Ledger: ...


def build(flow: hl.FlowBuilder) -> None:
    ledger = flow.process(Ledger)
    _, pings = ledger.sim_input(int)
    total = pings.count()
    per_key = ledger.source_iter([("a", 1)]).into_keyed()
    per_key.cross_singleton(total)  # expect: HL105
