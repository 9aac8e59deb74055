"""HL108: `Singleton.latest` needs a singleton inside a tick; a running count is top level."""

import hydrologic as hl


class Gauge: ...


def build(flow: hl.FlowBuilder) -> None:
    gauge = flow.process(Gauge)
    _, pings = gauge.sim_input(str)
    total = pings.count()
    total.latest()  # expect: HL108
