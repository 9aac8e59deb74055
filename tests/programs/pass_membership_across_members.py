"""Fix for HL101: ask per member (each member's joins and leaves are totally ordered), e.g. whether
it is a member now: its latest event."""

import hydrologic as hl


class Leader: ...


class Workers: ...


def build(flow: hl.FlowBuilder) -> None:
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    leader.source_cluster_members(workers).last().entries().sim_output()
