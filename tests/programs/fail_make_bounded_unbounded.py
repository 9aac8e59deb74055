"""HL105: `make_bounded` only restates boundedness; a live input is Unbounded."""

import hydrologic as hl


class Queue: ...


def build(flow: hl.FlowBuilder) -> None:
    queue = flow.process(Queue)
    _, jobs = queue.sim_input(int)
    jobs.make_bounded()  # expect: HL105
