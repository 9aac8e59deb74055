"""Fix for HL101: accept arrival order explicitly with assume_ordering(nondet(...))."""

import hydrologic as hl
from hydrologic import nondet


class Logger: ...


def build(flow: hl.FlowBuilder) -> None:
    logger = flow.process(Logger)
    _, app = logger.sim_input(str)
    _, audit = logger.sim_input(str)
    lines = app.merge_unordered(audit)
    lines.assume_ordering(nondet("log lines may be printed in arrival order")).for_each(print)
