"""HL304: a plain string where a proof(...) token is required (the static checkers catch it too)."""

import hydrologic as hl


class Ledger: ...


def build(flow: hl.FlowBuilder) -> None:
    ledger = flow.process(Ledger)
    _, card = ledger.sim_input(int)
    _, wire = ledger.sim_input(int)
    payments = card.merge_unordered(wire)
    payments.fold(lambda: 0, lambda total, p: total + p, commutative="addition is commutative")  # expect: HL304 static
