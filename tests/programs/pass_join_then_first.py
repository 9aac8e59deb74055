"""Fix for HL101: sort() the bounded join result before taking the first pair."""

import hydrologic as hl


class Shop: ...


def build(flow: hl.FlowBuilder) -> None:
    shop = flow.process(Shop)
    customers = shop.source_iter([(1, "ann"), (2, "bob")])
    orders = shop.source_iter([(1, 9.99), (2, 5.00)])
    customers.join(orders).sort().first()
