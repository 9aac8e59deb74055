"""Fix for HL101: sort each key's values (bounded) first."""

import hydrologic as hl
from hydrologic import nondet


class Ledger: ...


def build(flow: hl.FlowBuilder) -> None:
    ledger = flow.process(Ledger)
    tick = ledger.tick()
    per_key = ledger.source_iter([("a", 1), ("a", 2)]).into_keyed().weaken_ordering().batch(tick, nondet("a tick"))
    per_key.sort().fold_early_stop(lambda: 0, lambda acc, x: (acc + x, x > 1)).entries().all_ticks().sim_output()
