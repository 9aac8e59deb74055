"""Fix for HL106: put the live keyed stream on the left (a bounded right side is also a live one)."""

import hydrologic as hl


class Ledger: ...


def build(flow: hl.FlowBuilder) -> None:
    ledger = flow.process(Ledger)
    _, live = ledger.sim_input(tuple[str, int])
    fixed = ledger.source_iter([("a", 1)]).into_keyed()
    live.into_keyed().join_keyed_stream(fixed).entries().sim_output()
