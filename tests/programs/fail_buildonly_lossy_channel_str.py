"""HL301: a lossy channel needs a nondet token explaining why losing messages is acceptable."""

import hydrologic as hl


class Leader: ...


class Follower: ...


def build(flow: hl.FlowBuilder) -> None:
    leader = flow.process(Leader)
    follower = flow.process(Follower)
    heartbeats = leader.source_iter([1, 2, 3])
    heartbeats.send(follower, channel=hl.Channel.lossy("heartbeats repeat"))  # expect: HL301 static
