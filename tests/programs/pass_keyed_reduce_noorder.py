"""Fix for HL103: min is commutative; pass commutative=proof(...)."""

import hydrologic as hl
from hydrologic import proof


class Market: ...


def build(flow: hl.FlowBuilder) -> None:
    market = flow.process(Market)
    _, nyse = market.sim_input(tuple[str, float])
    _, lse = market.sim_input(tuple[str, float])
    quotes = nyse.merge_unordered(lse).into_keyed()
    quotes.reduce(lambda a, b: a if a <= b else b, commutative=proof("min is commutative"))
