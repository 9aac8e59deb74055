"""Fix for HL109: enter the atomic section first (atomic() with no tick gets one of its own)."""

import hydrologic as hl


class Store: ...


def build(flow: hl.FlowBuilder) -> None:
    store = flow.process(Store)
    _, writes = store.sim_input(str)
    writes.atomic().batch_atomic(hl.nondet("writes taken in by this tick"))
