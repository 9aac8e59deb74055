"""HL109: batch_atomic reads an atomic section; this stream never entered one."""

import hydrologic as hl


class Store: ...


def build(flow: hl.FlowBuilder) -> None:
    store = flow.process(Store)
    _, writes = store.sim_input(str)
    writes.batch_atomic(hl.nondet("writes taken in by this tick"))  # expect: HL109
