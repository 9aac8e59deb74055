"""Fix for HL112: claim the guarantee back, with the reason (the simulator checks the claim)."""

import hydrologic as hl
from hydrologic import nondet


class Leader: ...


class Replica: ...


def build(flow: hl.FlowBuilder) -> None:
    leader, replicas = flow.process(Leader), flow.cluster(Replica)
    _, commands = leader.sim_input(int)
    total = commands.broadcast_closed(replicas).fold(lambda: 0, lambda acc, n: acc + n)
    generic = total.weaken_consistency()
    claimed = generic.assert_has_consistency_of(hl.EventualConsistency, nondet("every replica folds the broadcast"))
    claimed.make_eventually_consistent()
