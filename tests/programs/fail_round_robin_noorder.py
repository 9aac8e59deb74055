"""HL101: `round_robin` needs a TotalOrder input; jobs merged from two queues are NoOrder."""

import hydrologic as hl
from hydrologic import nondet


class Dispatcher: ...


class Workers: ...


def build(flow: hl.FlowBuilder) -> None:
    dispatcher = flow.process(Dispatcher)
    workers = flow.cluster(Workers)
    _, urgent = dispatcher.sim_input(str)
    _, routine = dispatcher.sim_input(str)
    jobs = urgent.merge_unordered(routine)
    jobs.round_robin(workers, nondet("any worker may run any job"))  # expect: HL101
