"""Fix for HL105: snapshot the count into the tick."""

import hydrologic as hl
from hydrologic import nondet


class Ledger: ...


def build(flow: hl.FlowBuilder) -> None:
    ledger = flow.process(Ledger)
    _, pings = ledger.sim_input(int)
    total = pings.count()
    per_key = ledger.source_iter([("a", 1)]).into_keyed()
    tick = ledger.tick()
    seen = total.snapshot(tick, nondet("the count this tick sees"))
    per_key.batch(tick, nondet("a tick")).cross_singleton(seen).entries().all_ticks().sim_output()
