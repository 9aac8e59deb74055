"""Fix for HL101: ask per member (each member's events are totally ordered), e.g. its latest event."""

import hydrologic as hl


class Leader: ...


class Workers: ...


def build(flow: hl.FlowBuilder) -> None:
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    leader.peer_liveness(workers).last().entries().sim_output()
