"""Fix for HL108: count each tick's batch; all_ticks_atomic then feeds the tick's atomic section."""

import hydrologic as hl


class Store: ...


def build(flow: hl.FlowBuilder) -> None:
    store = flow.process(Store)
    _, writes = store.sim_input(str)
    writes.batch(store.tick(), hl.nondet("any batch")).count().all_ticks_atomic().end_atomic()
