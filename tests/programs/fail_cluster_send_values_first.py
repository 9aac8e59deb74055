"""HL101: cluster -> process `send` is ordered per sender only; `.values()` is NoOrder, so `first` is rejected."""

import hydrologic as hl


class Coordinator: ...


class Replicas: ...


def build(flow: hl.FlowBuilder) -> None:
    coordinator = flow.process(Coordinator)
    replicas = flow.cluster(Replicas)
    acks = replicas.source_iter(["ack"]).send(coordinator)
    acks.values().first()  # expect: HL101
