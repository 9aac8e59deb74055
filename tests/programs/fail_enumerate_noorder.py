"""HL101: `enumerate` needs TotalOrder; names flattened out of sets are NoOrder."""

import hydrologic as hl


class Registry: ...


def build(flow: hl.FlowBuilder) -> None:
    registry = flow.process(Registry)
    groups = registry.source_iter([frozenset({"ann", "bob"}), frozenset({"cy"})])
    names = groups.flat_map_unordered(lambda g: g)
    names.enumerate()  # expect: HL101
