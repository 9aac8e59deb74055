"""HL102: `chain` keeps the weaker retry guarantee, so `count` after it is rejected."""

import hydrologic as hl


class Log: ...


def build(flow: hl.FlowBuilder) -> None:
    log = flow.process(Log)
    header = log.source_iter(["begin"])
    _, lines = log.sim_input(str)
    header.chain(lines.weaken_retries()).count()  # expect: HL102
