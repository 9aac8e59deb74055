"""Fix for HL105: snapshot the live optional into a tick first."""

import hydrologic as hl
from hydrologic import nondet


class Cart: ...


def build(flow: hl.FlowBuilder) -> None:
    cart = flow.process(Cart)
    _, baskets = cart.sim_input(list[str])
    last = baskets.last()
    last.snapshot(cart.tick(), nondet("the basket as this tick sees it")).flat_map_ordered(lambda b: b).all_ticks().sim_output()
