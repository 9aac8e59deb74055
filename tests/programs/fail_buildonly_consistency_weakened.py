"""HL112: weaken_consistency() drops the guarantee, so a later requirement of it fails (build-time
only: the type checkers do not see consistency)."""

import hydrologic as hl
from hydrologic import nondet


class Leader: ...


class Replica: ...


def build(flow: hl.FlowBuilder) -> None:
    leader, replicas = flow.process(Leader), flow.cluster(Replica)
    _, commands = leader.sim_input(int)
    total = commands.broadcast(replicas, nondet("the membership is static")).fold(lambda: 0, lambda acc, n: acc + n)
    generic = total.weaken_consistency()
    generic.make_eventually_consistent()  # expect: HL112
