"""Fix for HL109: enter the atomic section of a tick first, then acknowledge with end_atomic."""

import hydrologic as hl


class Store: ...


def build(flow: hl.FlowBuilder) -> None:
    store = flow.process(Store)
    _, writes = store.sim_input(str)
    writes.atomic(store.tick()).end_atomic()
