"""Fix for HL111: read the per-key counts themselves, which only grow."""

import hydrologic as hl


class Shop: ...


def build(flow: hl.FlowBuilder) -> None:
    shop = flow.process(Shop)
    _, orders = shop.sim_input(tuple[str, int])
    per_item = orders.into_keyed().value_counts()
    per_item.threshold_greater_or_equal_uniform(shop.singleton(3))
