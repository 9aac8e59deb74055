"""Fix for HL112: send every command to every replica of a fixed membership with
broadcast_closed, so every replica folds the same ones and converges."""

import hydrologic as hl


class Leader: ...


class Replica: ...


def build(flow: hl.FlowBuilder) -> None:
    leader, replicas = flow.process(Leader), flow.cluster(Replica)
    _, commands = leader.sim_input(int)
    every = commands.broadcast_closed(replicas)
    total = every.fold(lambda: 0, lambda acc, n: acc + n)
    total.make_eventually_consistent()
