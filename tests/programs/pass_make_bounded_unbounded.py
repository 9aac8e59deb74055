"""Fix for HL105: batch the live input into a tick."""

import hydrologic as hl
from hydrologic import nondet


class Queue: ...


def build(flow: hl.FlowBuilder) -> None:
    queue = flow.process(Queue)
    _, jobs = queue.sim_input(int)
    jobs.batch(queue.tick(), nondet("a tick of jobs")).make_bounded().all_ticks().sim_output()
