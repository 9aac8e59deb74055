"""Fix for HL203: create the location with flow.cluster(Tag)."""

import hydrologic as hl


class Shard: ...


def build(flow: hl.FlowBuilder) -> None:
    shard = flow.cluster(Shard)
    shard.self_id()
