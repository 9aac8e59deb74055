"""Fix for HL101: sort() the bounded names before numbering them."""

import hydrologic as hl


class Registry: ...


def build(flow: hl.FlowBuilder) -> None:
    registry = flow.process(Registry)
    groups = registry.source_iter([frozenset({"ann", "bob"}), frozenset({"cy"})])
    names = groups.flat_map_unordered(lambda g: g)
    names.sort().enumerate().sim_output()
