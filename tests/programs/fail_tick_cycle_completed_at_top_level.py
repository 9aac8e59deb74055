"""HL403: a tick.cycle completed with a top-level stream instead of one in its tick."""

import hydrologic as hl


class Retrier: ...


def build(flow: hl.FlowBuilder) -> None:
    retrier = flow.process(Retrier)
    tick = retrier.tick()
    handle, again = tick.cycle(str)
    _, failures = retrier.sim_input(str)
    again.all_ticks().sim_output()
    handle.complete_next_tick(failures)  # expect: HL403
