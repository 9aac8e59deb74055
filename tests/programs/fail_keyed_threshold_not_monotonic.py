"""HL111: per-key threshold on a keyed singleton whose values a map may shrink."""

import hydrologic as hl


class Shop: ...


def build(flow: hl.FlowBuilder) -> None:
    shop = flow.process(Shop)
    _, orders = shop.sim_input(tuple[str, int])
    per_item = orders.into_keyed().value_counts().map(lambda n: 10 - n)
    per_item.threshold_greater_or_equal_uniform(shop.singleton(3))  # expect: HL111
