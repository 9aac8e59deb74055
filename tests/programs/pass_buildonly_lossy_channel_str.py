"""Fix for HL301: pass nondet(reason) to Channel.lossy."""

import hydrologic as hl
from hydrologic import nondet


class Leader: ...


class Follower: ...


def build(flow: hl.FlowBuilder) -> None:
    leader = flow.process(Leader)
    follower = flow.process(Follower)
    heartbeats = leader.source_iter([1, 2, 3])
    heartbeats.send(follower, channel=hl.Channel.lossy(nondet("a lost heartbeat is replaced by the next one")))
