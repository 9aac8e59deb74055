"""Fix for HL107: batch the top-level stream into the tick you want, once."""

import hydrologic as hl
from hydrologic import nondet


class Monitor: ...


def build(flow: hl.FlowBuilder) -> None:
    monitor = flow.process(Monitor)
    _, events = monitor.sim_input(str)
    slow = monitor.tick()
    events.batch(slow, nondet("events are grouped for the slow clock")).all_ticks().sim_output()
