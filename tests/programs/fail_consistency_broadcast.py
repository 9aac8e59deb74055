"""HL112: broadcast sends to the members of the moment (its nondet), so a member that joins later
misses what came before: its result is typed Cluster[Replica, NoConsistency] and the members'
totals need not converge."""

import hydrologic as hl
from hydrologic import nondet


class Leader: ...


class Replica: ...


def build(flow: hl.FlowBuilder) -> None:
    leader, replicas = flow.process(Leader), flow.cluster(Replica)
    _, commands = leader.sim_input(int)
    every = commands.broadcast(replicas, nondet("members may join or leave"))
    total = every.fold(lambda: 0, lambda acc, n: acc + n)
    total.make_eventually_consistent()  # expect: HL112
