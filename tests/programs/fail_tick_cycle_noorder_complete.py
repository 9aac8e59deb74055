"""HL101: a TotalOrder `tick.cycle` completed with a NoOrder stream (values() of a keyed batch)."""

import hydrologic as hl
from hydrologic import nondet


class Scheduler: ...


def build(flow: hl.FlowBuilder) -> None:
    scheduler = flow.process(Scheduler)
    tick = scheduler.tick()
    handle, waiting = tick.cycle(str)
    _, requests = scheduler.sim_input(tuple[int, str])
    arrived = requests.batch(tick, nondet("requests join the queue in whichever tick they arrive"))
    queue = waiting.chain(arrived.into_keyed().values())
    handle.complete_next_tick(queue)  # expect: HL101
