"""HL108: Singleton.all_ticks_atomic leaves a tick; this running count is at the top level."""

import hydrologic as hl


class Store: ...


def build(flow: hl.FlowBuilder) -> None:
    store = flow.process(Store)
    _, writes = store.sim_input(str)
    writes.count().all_ticks_atomic()  # expect: HL108
