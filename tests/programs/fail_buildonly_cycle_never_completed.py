"""HL401: a tick.cycle whose handle is never completed (the program would silently see nothing)."""

import hydrologic as hl
from hydrologic import nondet


class Worker: ...


def build(flow: hl.FlowBuilder) -> None:
    worker = flow.process(Worker)
    tick = worker.tick()
    _handle, carried = tick.cycle(int)  # expect: HL401
    _, jobs = worker.sim_input(int)
    todo = carried.chain(jobs.batch(tick, nondet("jobs are picked up per tick")))
    todo.all_ticks().sim_output()
