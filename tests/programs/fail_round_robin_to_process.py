"""HL203: `round_robin` spreads over the members of a Cluster, not a Process."""

import hydrologic as hl
from hydrologic import nondet


class Frontend: ...


class Printer: ...


def build(flow: hl.FlowBuilder) -> None:
    frontend = flow.process(Frontend)
    printer = flow.process(Printer)
    _, jobs = frontend.sim_input(str)
    jobs.round_robin(printer, nondet("any printer may print any job"))  # expect: HL203
