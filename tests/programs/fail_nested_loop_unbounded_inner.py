"""HL105: `cross_product_nested_loop` loops over all of `other`; a live input never ends."""

import hydrologic as hl


class Pairs: ...


def build(flow: hl.FlowBuilder) -> None:
    pairs = flow.process(Pairs)
    _, live = pairs.sim_input(int)
    fixed = pairs.source_iter(["x", "y"])
    fixed.cross_product_nested_loop(live)  # expect: HL105
