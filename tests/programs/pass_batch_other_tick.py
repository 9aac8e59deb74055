"""Fix for HL202: send the proposals to the follower first, then batch into its tick."""

import hydrologic as hl
from hydrologic import nondet


class Leader: ...


class Follower: ...


def build(flow: hl.FlowBuilder) -> None:
    leader = flow.process(Leader)
    follower = flow.process(Follower)
    _, proposals = leader.sim_input(str)
    follower_tick = follower.tick()
    proposals.send(follower).batch(follower_tick, nondet("proposals are applied per tick")).all_ticks().sim_output()
