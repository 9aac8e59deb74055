"""HL105: `is_empty` needs a bounded stream; a live input may still grow."""

import hydrologic as hl


class Queue: ...


def build(flow: hl.FlowBuilder) -> None:
    queue = flow.process(Queue)
    _, jobs = queue.sim_input(int)
    jobs.is_empty()  # expect: HL105
