"""HL101: `first` needs a totally ordered stream, but a cluster's membership events are ordered
only per member; `entries()` merges the members into a NoOrder stream."""

import hydrologic as hl


class Leader: ...


class Workers: ...


def build(flow: hl.FlowBuilder) -> None:
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    leader.source_cluster_members(workers).entries().first()  # expect: HL101
