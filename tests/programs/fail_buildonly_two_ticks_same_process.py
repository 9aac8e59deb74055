"""HL201: batches of two different ticks of the same process are different locations (one type, two clocks)."""

import hydrologic as hl
from hydrologic import nondet


class Matcher: ...


def build(flow: hl.FlowBuilder) -> None:
    matcher = flow.process(Matcher)
    _, bids = matcher.sim_input(tuple[str, int])
    _, asks = matcher.sim_input(tuple[str, int])
    bid_tick = matcher.tick()
    ask_tick = matcher.tick()
    b = bids.batch(bid_tick, nondet("bids are matched per tick"))
    a = asks.batch(ask_tick, nondet("asks are matched per tick"))
    b.join(a)  # expect: HL201
