"""HL105: `cross_singleton` needs its right side Bounded; the live exchange rate is Unbounded."""

import hydrologic as hl


class Exchange: ...


def build(flow: hl.FlowBuilder) -> None:
    exchange = flow.process(Exchange)
    _, orders = exchange.sim_input(float)
    _, rates = exchange.sim_input(float)
    rate = rates.last()
    orders.cross_singleton(rate)  # expect: HL105
