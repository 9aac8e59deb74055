"""HL202: `batch` into a tick that belongs to another process."""

import hydrologic as hl
from hydrologic import nondet


class Leader: ...


class Follower: ...


def build(flow: hl.FlowBuilder) -> None:
    leader = flow.process(Leader)
    follower = flow.process(Follower)
    _, proposals = leader.sim_input(str)
    follower_tick = follower.tick()
    proposals.batch(follower_tick, nondet("proposals are applied per tick"))  # expect: HL202
