"""HL107: `snapshot` needs a top-level singleton; a per-tick count is already in the tick."""

import hydrologic as hl
from hydrologic import nondet


class Website: ...


def build(flow: hl.FlowBuilder) -> None:
    website = flow.process(Website)
    _, visits = website.sim_input(str)
    tick = website.tick()
    per_tick = visits.batch(tick, nondet("visits are counted per tick"))
    per_tick.count().snapshot(tick, nondet("report the count as of this tick"))  # expect: HL107
