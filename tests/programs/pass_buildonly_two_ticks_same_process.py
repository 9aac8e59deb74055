"""Fix for HL201: batch both sides into the same tick."""

import hydrologic as hl
from hydrologic import nondet


class Matcher: ...


def build(flow: hl.FlowBuilder) -> None:
    matcher = flow.process(Matcher)
    _, bids = matcher.sim_input(tuple[str, int])
    _, asks = matcher.sim_input(tuple[str, int])
    tick = matcher.tick()
    b = bids.batch(tick, nondet("bids are matched per tick"))
    a = asks.batch(tick, nondet("asks are matched per tick"))
    b.join(a).all_ticks().sim_output()
