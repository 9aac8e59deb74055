"""Fix for HL105: make the bounded stream the inner loop."""

import hydrologic as hl


class Pairs: ...


def build(flow: hl.FlowBuilder) -> None:
    pairs = flow.process(Pairs)
    _, live = pairs.sim_input(int)
    fixed = pairs.source_iter(["x", "y"])
    live.cross_product_nested_loop(fixed).sim_output()
