"""HL112: make_eventually_consistent needs every member to converge; round_robin gives each
member different commands, so each member's total differs (typed Cluster[Replica,
NoConsistency], so mypy and pyright reject it as the builder does)."""

import hydrologic as hl
from hydrologic import nondet


class Leader: ...


class Replica: ...


def build(flow: hl.FlowBuilder) -> None:
    leader, replicas = flow.process(Leader), flow.cluster(Replica)
    _, commands = leader.sim_input(int)
    spread = commands.round_robin(replicas, nondet("any replica may apply a command"))
    total = spread.fold(lambda: 0, lambda acc, n: acc + n)
    total.make_eventually_consistent()  # expect: HL112
