"""HL108: `all_ticks` needs a collection inside a tick; this stream is at the top level."""

import hydrologic as hl


class Pipeline: ...


def build(flow: hl.FlowBuilder) -> None:
    pipeline = flow.process(Pipeline)
    _, events = pipeline.sim_input(str)
    events.map(lambda e: e.upper()).all_ticks()  # expect: HL108
