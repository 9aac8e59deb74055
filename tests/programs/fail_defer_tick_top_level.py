"""HL108: `defer_tick` needs a collection inside a tick; this stream is at the top level."""

import hydrologic as hl


class Heartbeat: ...


def build(flow: hl.FlowBuilder) -> None:
    heartbeat = flow.process(Heartbeat)
    _, beats = heartbeat.sim_input(int)
    beats.defer_tick()  # expect: HL108
