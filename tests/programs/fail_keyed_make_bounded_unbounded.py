"""HL105: `KeyedStream.make_bounded` only restates boundedness; a live input is Unbounded."""

import hydrologic as hl


class Queue: ...


def build(flow: hl.FlowBuilder) -> None:
    queue = flow.process(Queue)
    _, jobs = queue.sim_input(tuple[str, int])
    by_owner = jobs.into_keyed()
    by_owner.make_bounded()  # expect: HL105
