"""Fix for HL107: watch the top-level stream, then read the timeout in the tick with a snapshot."""

import hydrologic as hl
from hydrologic import nondet


class Monitor: ...


def build(flow: hl.FlowBuilder) -> None:
    monitor = flow.process(Monitor)
    _, beats = monitor.sim_input(str)
    tick = monitor.tick()
    silent = beats.timeout(5.0, nondet("the clock decides when silence becomes a timeout"))
    silent.snapshot(tick, nondet("the tick may see the timeout late")).into_stream().all_ticks().sim_output()
