"""HL102: `make_exactly_once` only restates a guarantee the stream has; this one allows duplicates."""

import hydrologic as hl


class Registry: ...


def build(flow: hl.FlowBuilder) -> None:
    registry = flow.process(Registry)
    names = registry.source_iter(["ann"]).weaken_retries()
    names.make_exactly_once()  # expect: HL102
