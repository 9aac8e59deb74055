"""HL107: `batch` needs a top-level stream; batching a batch again is rejected."""

import hydrologic as hl
from hydrologic import nondet


class Monitor: ...


def build(flow: hl.FlowBuilder) -> None:
    monitor = flow.process(Monitor)
    _, events = monitor.sim_input(str)
    fast = monitor.tick()
    slow = monitor.tick()
    per_fast = events.batch(fast, nondet("events are grouped by arrival"))
    per_fast.batch(slow, nondet("events are regrouped for the slow clock"))  # expect: HL107
