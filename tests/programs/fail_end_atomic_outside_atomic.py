"""HL109: `end_atomic` on a stream that never entered an atomic section."""

import hydrologic as hl


class Store: ...


def build(flow: hl.FlowBuilder) -> None:
    store = flow.process(Store)
    _, writes = store.sim_input(str)
    writes.end_atomic()  # expect: HL109
