"""Fix for HL101: say that arrival order is acceptable with assume_ordering(nondet(...))."""

import hydrologic as hl
from hydrologic import nondet


class Auction: ...


def build(flow: hl.FlowBuilder) -> None:
    auction = flow.process(Auction)
    _, east = auction.sim_input(int)
    _, west = auction.sim_input(int)
    bids = east.merge_unordered(west)
    bids.assume_ordering(nondet("the first bid to arrive from either feed opens the auction")).first()
