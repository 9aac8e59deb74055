"""Fix for HL101: accept that any replica's ack may come first, with assume_ordering(nondet(...))."""

import hydrologic as hl
from hydrologic import nondet


class Coordinator: ...


class Replicas: ...


def build(flow: hl.FlowBuilder) -> None:
    coordinator = flow.process(Coordinator)
    replicas = flow.cluster(Replicas)
    acks = replicas.source_iter(["ack"]).send(coordinator)
    acks.values().assume_ordering(nondet("any replica's ack may be the first one seen")).first()
