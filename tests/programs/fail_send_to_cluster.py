"""HL203: `send` targets a Process; sending to a Cluster needs demux/broadcast/round_robin."""

import hydrologic as hl


class Controller: ...


class Workers: ...


def build(flow: hl.FlowBuilder) -> None:
    controller = flow.process(Controller)
    workers = flow.cluster(Workers)
    settings = controller.source_iter(["verbose=1"])
    settings.send(workers)  # expect: HL203
