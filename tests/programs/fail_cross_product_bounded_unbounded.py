"""HL106: `cross_product` of Bounded sizes (self) with Unbounded live colours."""

import hydrologic as hl


class Tailor: ...


def build(flow: hl.FlowBuilder) -> None:
    tailor = flow.process(Tailor)
    sizes = tailor.source_iter(["S", "M", "L"])
    _, colours = tailor.sim_input(str)
    sizes.cross_product(colours)  # expect: HL106
