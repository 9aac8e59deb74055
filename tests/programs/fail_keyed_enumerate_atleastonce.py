"""HL102: keyed `enumerate` would number a duplicate twice; weaken_retries allows duplicates."""

import hydrologic as hl


class Ledger: ...


def build(flow: hl.FlowBuilder) -> None:
    ledger = flow.process(Ledger)
    entries = ledger.source_iter([("a", 1), ("a", 1)]).into_keyed().weaken_retries()
    entries.enumerate()  # expect: HL102
