"""HL101: `chain` keeps the weaker ordering of its two inputs, so `first` after it is rejected."""

import hydrologic as hl


class Log: ...


def build(flow: hl.FlowBuilder) -> None:
    log = flow.process(Log)
    header = log.source_iter(["begin"])
    _, lines = log.sim_input(str)
    body = lines.weaken_ordering()
    header.chain(body).first()  # expect: HL101
