"""HL101: `for_each` needs TotalOrder; log lines merged from two sources are NoOrder."""

import hydrologic as hl


class Logger: ...


def build(flow: hl.FlowBuilder) -> None:
    logger = flow.process(Logger)
    _, app = logger.sim_input(str)
    _, audit = logger.sim_input(str)
    lines = app.merge_unordered(audit)
    lines.for_each(print)  # expect: HL101
