"""Fix for HL108: batch into a tick, then defer to the next tick."""

import hydrologic as hl
from hydrologic import nondet


class Heartbeat: ...


def build(flow: hl.FlowBuilder) -> None:
    heartbeat = flow.process(Heartbeat)
    _, beats = heartbeat.sim_input(int)
    tick = heartbeat.tick()
    beats.batch(tick, nondet("beats are grouped per tick")).defer_tick().all_ticks().sim_output()
