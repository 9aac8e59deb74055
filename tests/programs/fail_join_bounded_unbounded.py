"""HL106: `join` of a Bounded catalog (self) with Unbounded live orders."""

import hydrologic as hl


class Warehouse: ...


def build(flow: hl.FlowBuilder) -> None:
    warehouse = flow.process(Warehouse)
    catalog = warehouse.source_iter([(1, "apple"), (2, "pear")])
    _, orders = warehouse.sim_input(tuple[int, int])  # (item id, quantity)
    catalog.join(orders)  # expect: HL106
