"""HL203: a Process has no members that join and leave; `source_cluster_members` needs a Cluster."""

import hydrologic as hl


class Leader: ...


class Store: ...


def build(flow: hl.FlowBuilder) -> None:
    leader = flow.process(Leader)
    store = flow.process(Store)
    leader.source_cluster_members(store)  # expect: HL203
