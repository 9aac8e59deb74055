"""HL101: `first` needs TotalOrder, but bids merged from two feeds are NoOrder."""

import hydrologic as hl


class Auction: ...


def build(flow: hl.FlowBuilder) -> None:
    auction = flow.process(Auction)
    _, east = auction.sim_input(int)
    _, west = auction.sim_input(int)
    bids = east.merge_unordered(west)
    bids.first()  # expect: HL101
