"""Fix for HL203: broadcast the config to every member."""

import hydrologic as hl
from hydrologic import nondet


class Controller: ...


class Workers: ...


def build(flow: hl.FlowBuilder) -> None:
    controller = flow.process(Controller)
    workers = flow.cluster(Workers)
    settings = controller.source_iter(["verbose=1"])
    settings.broadcast(workers, nondet("members that join late may miss early settings"))
