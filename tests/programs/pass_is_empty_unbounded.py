"""Fix for HL105: ask of each tick's batch."""

import hydrologic as hl
from hydrologic import nondet


class Queue: ...


def build(flow: hl.FlowBuilder) -> None:
    queue = flow.process(Queue)
    _, jobs = queue.sim_input(int)
    jobs.batch(queue.tick(), nondet("a tick of jobs")).is_empty().all_ticks().sim_output()
