"""HL101: a channel that may delay messages forever delivers NoOrder, so `first` is rejected."""

import hydrologic as hl


class Sensor: ...


class Hub: ...


def build(flow: hl.FlowBuilder) -> None:
    sensor = flow.process(Sensor)
    hub = flow.process(Hub)
    readings = sensor.source_iter([3, 1, 2]).send(hub, channel=hl.Channel.lossy_delayed_forever())
    readings.first()  # expect: HL101
