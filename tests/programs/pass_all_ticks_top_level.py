"""Fix for HL108: batch into a tick first (or drop the all_ticks call)."""

import hydrologic as hl
from hydrologic import nondet


class Pipeline: ...


def build(flow: hl.FlowBuilder) -> None:
    pipeline = flow.process(Pipeline)
    _, events = pipeline.sim_input(str)
    tick = pipeline.tick()
    events.batch(tick, nondet("events are processed per tick")).map(lambda e: e.upper()).all_ticks().sim_output()
