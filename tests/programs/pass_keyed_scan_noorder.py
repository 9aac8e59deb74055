"""Fix for HL101: sort each key's values (in a tick) before the running totals."""

import hydrologic as hl
from hydrologic import nondet


class Ledger: ...


def build(flow: hl.FlowBuilder) -> None:
    ledger = flow.process(Ledger)
    tick = ledger.tick()
    per_key = ledger.source_iter([("a", {1, 2})]).into_keyed().batch(tick, nondet("a tick of entries"))
    amounts = per_key.flat_map_unordered(lambda s: s)
    amounts.sort().scan(lambda: 0, lambda acc, x: acc + x).entries().all_ticks().sim_output()
