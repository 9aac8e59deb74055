"""Fix for HL105: look up in this tick's batch of the table."""

import hydrologic as hl
from hydrologic import nondet


class Lookup: ...


def build(flow: hl.FlowBuilder) -> None:
    lookup = flow.process(Lookup)
    _, table = lookup.sim_input(tuple[int, str])
    requests = lookup.source_iter([("r", 1)]).into_keyed()
    tick = lookup.tick()
    this_tick = table.into_keyed().batch(tick, nondet("a tick of the table"))
    requests.batch(tick, nondet("a tick")).lookup_keyed_stream(this_tick).entries().all_ticks().sim_output()
