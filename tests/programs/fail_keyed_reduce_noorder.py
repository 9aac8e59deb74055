"""HL103: a per-key `reduce` over NoOrder prices needs commutative=proof(...)."""

import hydrologic as hl


class Market: ...


def build(flow: hl.FlowBuilder) -> None:
    market = flow.process(Market)
    _, nyse = market.sim_input(tuple[str, float])
    _, lse = market.sim_input(tuple[str, float])
    quotes = nyse.merge_unordered(lse).into_keyed()
    quotes.reduce(lambda a, b: a if a <= b else b)  # expect: HL103
