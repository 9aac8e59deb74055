"""HL203: member identity exists only in ticks of a cluster."""

import hydrologic as hl


class Coordinator: ...


def build(flow: hl.FlowBuilder) -> None:
    coordinator = flow.process(Coordinator)
    tick = coordinator.tick()
    tick.self_id()  # expect: HL203
