"""Fix for HL101: sort() the bounded names before running the state machine."""

import hydrologic as hl


class Registry: ...


def build(flow: hl.FlowBuilder) -> None:
    registry = flow.process(Registry)
    names = registry.source_iter([frozenset({"ann", "bob"})]).flat_map_unordered(lambda g: g)
    names.sort().generator(lambda: 0, lambda n, x: (n + 1, hl.Yield((n, x)))).sim_output()
