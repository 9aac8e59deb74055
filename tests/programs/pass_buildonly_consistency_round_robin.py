"""Fix for HL112: broadcast the commands, so every replica folds the same ones and converges."""

import hydrologic as hl
from hydrologic import nondet


class Leader: ...


class Replica: ...


def build(flow: hl.FlowBuilder) -> None:
    leader, replicas = flow.process(Leader), flow.cluster(Replica)
    _, commands = leader.sim_input(int)
    every = commands.broadcast(replicas, nondet("the membership is static"))
    total = every.fold(lambda: 0, lambda acc, n: acc + n)
    total.make_eventually_consistent()
