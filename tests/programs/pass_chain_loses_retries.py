"""Fix for HL102: deduplicate the chained stream before counting."""

import hydrologic as hl


class Log: ...


def build(flow: hl.FlowBuilder) -> None:
    log = flow.process(Log)
    header = log.source_iter(["begin"])
    _, lines = log.sim_input(str)
    header.chain(lines.weaken_retries()).unique().count()
