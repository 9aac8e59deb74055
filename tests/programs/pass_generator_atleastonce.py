"""Fix for HL102: unique() drops the duplicates first."""

import hydrologic as hl


class Registry: ...


def build(flow: hl.FlowBuilder) -> None:
    registry = flow.process(Registry)
    names = registry.source_iter(["ann", "bob"]).weaken_retries()
    names.unique().generator(lambda: 0, lambda n, x: (n + 1, hl.Yield((n, x)))).sim_output()
