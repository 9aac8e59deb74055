"""HL105: clone_into_tick needs a Bounded singleton (one version); a live count has many."""

import hydrologic as hl


class Server: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    _, events = server.sim_input(str)
    tick = server.tick()
    events.count().clone_into_tick(tick)  # expect: HL105
