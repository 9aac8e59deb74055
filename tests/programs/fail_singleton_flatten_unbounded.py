"""HL105: a singleton's items become a bounded stream only when the singleton is Bounded."""

import hydrologic as hl


class Cart: ...


def build(flow: hl.FlowBuilder) -> None:
    cart = flow.process(Cart)
    _, items = cart.sim_input(str)
    basket = items.collect_list()
    basket.flatten_ordered()  # expect: HL105
