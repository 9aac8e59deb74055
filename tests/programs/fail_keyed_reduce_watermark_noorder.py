"""HL103: `reduce_watermark` over a NoOrder keyed stream needs commutative=proof(...)."""

import hydrologic as hl
from hydrologic import nondet


class Window: ...


def build(flow: hl.FlowBuilder) -> None:
    window = flow.process(Window)
    tick = window.tick()
    counts = window.source_iter([(1, 2), (2, 3)]).into_keyed().weaken_ordering().batch(tick, nondet("a tick"))
    mark = tick.singleton(1)
    counts.reduce_watermark(mark, lambda a, x: a + x)  # expect: HL103
