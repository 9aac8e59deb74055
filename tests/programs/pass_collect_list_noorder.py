"""Fix for HL101: sort() the (bounded) keys before collecting them."""

import hydrologic as hl


class Inventory: ...


def build(flow: hl.FlowBuilder) -> None:
    store = flow.process(Inventory)
    stock = store.source_iter([("apple", 3), ("pear", 1), ("apple", 2)]).into_keyed()
    totals = stock.fold(lambda: 0, lambda acc, n: acc + n)
    totals.keys().sort().collect_list()
