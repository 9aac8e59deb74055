"""Fix for HL105: snapshot the live list into a tick first."""

import hydrologic as hl
from hydrologic import nondet


class Cart: ...


def build(flow: hl.FlowBuilder) -> None:
    cart = flow.process(Cart)
    _, items = cart.sim_input(str)
    basket = items.collect_list()
    basket.snapshot(cart.tick(), nondet("the basket as this tick sees it")).flatten_ordered().all_ticks().sim_output()
