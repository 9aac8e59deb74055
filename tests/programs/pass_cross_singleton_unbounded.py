"""Fix for HL105: batch the orders and snapshot the rate into the same tick."""

import hydrologic as hl
from hydrologic import nondet


class Exchange: ...


def build(flow: hl.FlowBuilder) -> None:
    exchange = flow.process(Exchange)
    _, orders = exchange.sim_input(float)
    _, rates = exchange.sim_input(float)
    rate = rates.last()
    tick = exchange.tick()
    now = orders.batch(tick, nondet("orders are priced in the tick they arrive"))
    now.cross_singleton(rate.snapshot(tick, nondet("an order may see a slightly stale rate"))).all_ticks().sim_output()
