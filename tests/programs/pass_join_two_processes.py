"""Fix for HL201: send the orders to the users process first, then join."""

import hydrologic as hl


class Users: ...


class Orders: ...


def build(flow: hl.FlowBuilder) -> None:
    users = flow.process(Users)
    orders = flow.process(Orders)
    _, names = users.sim_input(tuple[int, str])
    _, items = orders.sim_input(tuple[int, str])
    names.join(items.send(users)).sim_output()
