"""HL101: `generator` needs TotalOrder; names flattened out of sets are NoOrder."""

import hydrologic as hl


class Registry: ...


def build(flow: hl.FlowBuilder) -> None:
    registry = flow.process(Registry)
    names = registry.source_iter([frozenset({"ann", "bob"})]).flat_map_unordered(lambda g: g)
    names.generator(lambda: 0, lambda n, x: (n + 1, hl.Yield((n, x))))  # expect: HL101
