"""Fix for HL101: chain two ordered streams, so the result stays TotalOrder."""

import hydrologic as hl


class Log: ...


def build(flow: hl.FlowBuilder) -> None:
    log = flow.process(Log)
    header = log.source_iter(["begin"])
    _, lines = log.sim_input(str)
    header.chain(lines).first()
