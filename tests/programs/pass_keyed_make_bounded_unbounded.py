"""Fix for HL105: batch the live input into a tick."""

import hydrologic as hl
from hydrologic import nondet


class Queue: ...


def build(flow: hl.FlowBuilder) -> None:
    queue = flow.process(Queue)
    _, jobs = queue.sim_input(tuple[str, int])
    by_owner = jobs.into_keyed()
    by_owner.batch(queue.tick(), nondet("a tick of jobs")).make_bounded().entries().all_ticks().sim_output()
