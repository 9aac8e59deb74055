"""Fix for HL104: state that the combining function ignores duplicates (max does)."""

import hydrologic as hl
from hydrologic import nondet


class Window: ...


def build(flow: hl.FlowBuilder) -> None:
    window = flow.process(Window)
    tick = window.tick()
    counts = window.source_iter([(1, 2), (2, 3)]).into_keyed().weaken_retries().batch(tick, nondet("a tick"))
    mark = tick.singleton(1)
    counts.reduce_watermark(mark, lambda a, x: max(a, x), idempotent=hl.proof("max ignores repeats")).entries().all_ticks().sim_output()
