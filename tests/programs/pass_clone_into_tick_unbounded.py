"""Fix for HL105: a changing value is read with snapshot, which says why any version is fine."""

import hydrologic as hl


class Server: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    _, events = server.sim_input(str)
    tick = server.tick()
    events.count().snapshot(tick, hl.nondet("any recent count will do"))
