"""Fix for HL105: snapshot the keyed singleton into the tick."""

import hydrologic as hl
from hydrologic import nondet


class Ledger: ...


def build(flow: hl.FlowBuilder) -> None:
    ledger = flow.process(Ledger)
    _, words = ledger.sim_input(str)
    counts = words.map(lambda w: (w, 1)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    per_key = ledger.source_iter([("a", 1)]).into_keyed()
    tick = ledger.tick()
    seen = counts.snapshot(tick, nondet("the counts this tick sees"))
    per_key.batch(tick, nondet("a tick")).join_keyed_singleton(seen).entries().all_ticks().sim_output()
