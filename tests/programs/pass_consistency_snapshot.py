"""Fix for HL112: require consistency of the total itself, at the top level, where it converges;
read it in a tick afterwards if a tick needs it."""

import hydrologic as hl
from hydrologic import nondet


class Leader: ...


class Replica: ...


def build(flow: hl.FlowBuilder) -> None:
    leader, replicas = flow.process(Leader), flow.cluster(Replica)
    _, commands = leader.sim_input(int)
    total = commands.broadcast_closed(replicas).fold(lambda: 0, lambda acc, n: acc + n)
    agreed = total.make_eventually_consistent()
    agreed.snapshot(replicas.tick(), nondet("a tick sees some version of the total")).into_stream().all_ticks()
