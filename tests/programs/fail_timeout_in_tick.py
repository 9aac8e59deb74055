"""HL107: `timeout` watches a stream over time, so it is only valid at the top level."""

import hydrologic as hl
from hydrologic import nondet


class Monitor: ...


def build(flow: hl.FlowBuilder) -> None:
    monitor = flow.process(Monitor)
    _, beats = monitor.sim_input(str)
    batch = beats.batch(monitor.tick(), nondet("heartbeats are checked per tick"))
    batch.timeout(5.0, nondet("the clock decides when silence becomes a timeout"))  # expect: HL107
