"""HL101: keyed `scan` needs each key's values in order; flat_map_unordered loses it."""

import hydrologic as hl
from hydrologic import nondet


class Ledger: ...


def build(flow: hl.FlowBuilder) -> None:
    ledger = flow.process(Ledger)
    tick = ledger.tick()
    per_key = ledger.source_iter([("a", {1, 2})]).into_keyed().batch(tick, nondet("a tick of entries"))
    amounts = per_key.flat_map_unordered(lambda s: s)
    amounts.scan(lambda: 0, lambda acc, x: acc + x)  # expect: HL101
