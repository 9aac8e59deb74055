"""Fix for HL103: addition is commutative, so say so with commutative=proof(...)."""

import hydrologic as hl
from hydrologic import proof


class Ledger: ...


def build(flow: hl.FlowBuilder) -> None:
    ledger = flow.process(Ledger)
    _, card = ledger.sim_input(int)
    _, wire = ledger.sim_input(int)
    payments = card.merge_unordered(wire)
    payments.fold(lambda: 0, lambda total, p: total + p, commutative=proof("addition is commutative"))
