"""HL109: KeyedSingleton.batch_atomic reads an atomic section; this map never entered one."""

import hydrologic as hl


class Store: ...


def build(flow: hl.FlowBuilder) -> None:
    store = flow.process(Store)
    _, writes = store.sim_input(tuple[str, int])
    totals = writes.into_keyed().fold(lambda: 0, lambda acc, n: acc + n)
    totals.batch_atomic(hl.nondet("changes taken in by this tick"))  # expect: HL109
