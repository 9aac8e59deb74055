"""Fix for HL101: deal jobs out in arrival order, declared with assume_ordering(nondet(...))."""

import hydrologic as hl
from hydrologic import nondet


class Dispatcher: ...


class Workers: ...


def build(flow: hl.FlowBuilder) -> None:
    dispatcher = flow.process(Dispatcher)
    workers = flow.cluster(Workers)
    _, urgent = dispatcher.sim_input(str)
    _, routine = dispatcher.sim_input(str)
    jobs = urgent.merge_unordered(routine).assume_ordering(nondet("jobs are dealt out in arrival order"))
    jobs.round_robin(workers, nondet("any worker may run any job"))
