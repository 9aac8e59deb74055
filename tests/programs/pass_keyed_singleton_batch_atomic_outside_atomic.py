"""Fix for HL109: enter the atomic section first (atomic() with no tick gets one of its own)."""

import hydrologic as hl


class Store: ...


def build(flow: hl.FlowBuilder) -> None:
    store = flow.process(Store)
    _, writes = store.sim_input(tuple[str, int])
    totals = writes.into_keyed().fold(lambda: 0, lambda acc, n: acc + n)
    totals.atomic().batch_atomic(hl.nondet("changes taken in by this tick")).entries().all_ticks().sim_output()
