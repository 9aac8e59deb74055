"""Fix for HL403: complete the cycle with a collection in the cycle's own tick."""

import hydrologic as hl
from hydrologic import nondet


class Retrier: ...


def build(flow: hl.FlowBuilder) -> None:
    retrier = flow.process(Retrier)
    tick = retrier.tick()
    handle, again = tick.cycle(str)
    _, failures = retrier.sim_input(str)
    again.all_ticks().sim_output()
    handle.complete_next_tick(failures.batch(tick, nondet("failures are retried from the next tick")))
