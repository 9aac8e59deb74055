"""Fix for HL401: complete the cycle with complete_next_tick."""

import hydrologic as hl
from hydrologic import nondet


class Worker: ...


def build(flow: hl.FlowBuilder) -> None:
    worker = flow.process(Worker)
    tick = worker.tick()
    handle, carried = tick.cycle(int)
    _, jobs = worker.sim_input(int)
    todo = carried.chain(jobs.batch(tick, nondet("jobs are picked up per tick")))
    handle.complete_next_tick(todo.filter(lambda j: j > 0).map(lambda j: j - 1))
    todo.all_ticks().sim_output()
