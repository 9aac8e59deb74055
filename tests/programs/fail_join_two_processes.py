"""HL201: `join` of streams on two different processes."""

import hydrologic as hl


class Users: ...


class Orders: ...


def build(flow: hl.FlowBuilder) -> None:
    users = flow.process(Users)
    orders = flow.process(Orders)
    _, names = users.sim_input(tuple[int, str])
    _, items = orders.sim_input(tuple[int, str])
    names.join(items)  # expect: HL201
