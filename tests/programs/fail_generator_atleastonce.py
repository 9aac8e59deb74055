"""HL102: `generator` would step its state machine twice on a duplicate; weaken_retries allows them."""

import hydrologic as hl


class Registry: ...


def build(flow: hl.FlowBuilder) -> None:
    registry = flow.process(Registry)
    names = registry.source_iter(["ann", "bob"]).weaken_retries()
    names.generator(lambda: 0, lambda n, x: (n + 1, hl.Yield((n, x))))  # expect: HL102
