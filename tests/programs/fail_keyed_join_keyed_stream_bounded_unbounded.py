"""HL106: `join_keyed_stream` of a bounded keyed stream with a live one mixes boundedness."""

import hydrologic as hl


class Ledger: ...


def build(flow: hl.FlowBuilder) -> None:
    ledger = flow.process(Ledger)
    _, live = ledger.sim_input(tuple[str, int])
    fixed = ledger.source_iter([("a", 1)]).into_keyed()
    fixed.join_keyed_stream(live.into_keyed())  # expect: HL106
