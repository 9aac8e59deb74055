"""Fix for HL106: keep the catalog in the tick and batch the orders into the same tick."""

import hydrologic as hl
from hydrologic import nondet


class Warehouse: ...


def build(flow: hl.FlowBuilder) -> None:
    warehouse = flow.process(Warehouse)
    tick = warehouse.tick()
    catalog = tick.source_iter([(1, "apple"), (2, "pear")])
    _, orders = warehouse.sim_input(tuple[int, int])  # (item id, quantity)
    catalog.join(orders.batch(tick, nondet("orders are matched in the tick they arrive"))).all_ticks().sim_output()
