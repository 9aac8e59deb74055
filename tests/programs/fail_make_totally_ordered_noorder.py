"""HL101: `make_totally_ordered` only restates an order the stream has; this one is NoOrder."""

import hydrologic as hl


class Registry: ...


def build(flow: hl.FlowBuilder) -> None:
    registry = flow.process(Registry)
    names = registry.source_iter([frozenset({"ann"})]).flat_map_unordered(lambda g: g)
    names.make_totally_ordered()  # expect: HL101
