"""HL203: `self_id` (member identity) is only valid on a Cluster, not on a Process."""

import hydrologic as hl


class Shard: ...


def build(flow: hl.FlowBuilder) -> None:
    shard = flow.process(Shard)
    shard.self_id()  # expect: HL203
