"""Fix for HL203: a single process receives everything with send()."""

import hydrologic as hl


class Frontend: ...


class Printer: ...


def build(flow: hl.FlowBuilder) -> None:
    frontend = flow.process(Frontend)
    printer = flow.process(Printer)
    _, jobs = frontend.sim_input(str)
    jobs.send(printer).sim_output()
