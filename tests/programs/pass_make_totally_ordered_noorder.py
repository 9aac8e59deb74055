"""Fix for HL101: sort() the bounded stream to give it an order."""

import hydrologic as hl


class Registry: ...


def build(flow: hl.FlowBuilder) -> None:
    registry = flow.process(Registry)
    names = registry.source_iter([frozenset({"ann"})]).flat_map_unordered(lambda g: g)
    names.sort().make_totally_ordered().sim_output()
