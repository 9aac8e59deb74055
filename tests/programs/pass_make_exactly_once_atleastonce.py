"""Fix for HL102: unique() removes the duplicates."""

import hydrologic as hl


class Registry: ...


def build(flow: hl.FlowBuilder) -> None:
    registry = flow.process(Registry)
    names = registry.source_iter(["ann"]).weaken_retries()
    names.unique().make_exactly_once().sim_output()
