"""Fix for HL102: unique() drops the duplicates before numbering."""

import hydrologic as hl


class Ledger: ...


def build(flow: hl.FlowBuilder) -> None:
    ledger = flow.process(Ledger)
    entries = ledger.source_iter([("a", 1), ("a", 1)]).into_keyed().weaken_retries()
    entries.unique().enumerate().entries().sim_output()
