"""HL101: `fold_early_stop` depends on which value comes first; a NoOrder keyed stream has no first."""

import hydrologic as hl
from hydrologic import nondet


class Ledger: ...


def build(flow: hl.FlowBuilder) -> None:
    ledger = flow.process(Ledger)
    tick = ledger.tick()
    per_key = ledger.source_iter([("a", 1), ("a", 2)]).into_keyed().weaken_ordering().batch(tick, nondet("a tick"))
    per_key.fold_early_stop(lambda: 0, lambda acc, x: (acc + x, x > 1))  # expect: HL101
