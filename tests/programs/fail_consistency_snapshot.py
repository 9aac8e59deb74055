"""HL112: a snapshot is a nondet site (each member may see a different version), so what a tick
derives from it is typed Tick[Cluster[Replica, NoConsistency]] even over consistent input."""

import hydrologic as hl
from hydrologic import nondet


class Leader: ...


class Replica: ...


def build(flow: hl.FlowBuilder) -> None:
    leader, replicas = flow.process(Leader), flow.cluster(Replica)
    _, commands = leader.sim_input(int)
    total = commands.broadcast_closed(replicas).fold(lambda: 0, lambda acc, n: acc + n)
    seen = total.snapshot(replicas.tick(), nondet("a tick sees some version of the total"))
    seen.latest().make_eventually_consistent()  # expect: HL112
