"""Fix for HL203: ask a tick of the cluster for its member id."""

import hydrologic as hl


class Coordinator: ...


class Workers: ...


def build(flow: hl.FlowBuilder) -> None:
    flow.process(Coordinator)
    workers = flow.cluster(Workers)
    tick = workers.tick()
    tick.self_id()
