"""HL101: order is lost through `join` (NoOrder), so `first` on its output is rejected."""

import hydrologic as hl


class Shop: ...


def build(flow: hl.FlowBuilder) -> None:
    shop = flow.process(Shop)
    customers = shop.source_iter([(1, "ann"), (2, "bob")])
    orders = shop.source_iter([(1, 9.99), (2, 5.00)])
    customers.join(orders).first()  # expect: HL101
