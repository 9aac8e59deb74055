"""HL105: an optional's items become a bounded stream only when the optional is Bounded."""

import hydrologic as hl


class Cart: ...


def build(flow: hl.FlowBuilder) -> None:
    cart = flow.process(Cart)
    _, baskets = cart.sim_input(list[str])
    last = baskets.last()
    last.flat_map_ordered(lambda b: b)  # expect: HL105
