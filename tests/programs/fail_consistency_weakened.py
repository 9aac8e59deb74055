"""HL112: weaken_consistency() drops the guarantee (typed Cluster[Replica, NoConsistency]), so a
later requirement of it fails in mypy, pyright and the builder."""

import hydrologic as hl


class Leader: ...


class Replica: ...


def build(flow: hl.FlowBuilder) -> None:
    leader, replicas = flow.process(Leader), flow.cluster(Replica)
    _, commands = leader.sim_input(int)
    total = commands.broadcast_closed(replicas).fold(lambda: 0, lambda acc, n: acc + n)
    generic = total.weaken_consistency()
    generic.make_eventually_consistent()  # expect: HL112
