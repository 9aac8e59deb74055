"""Fix for HL111: declare the fold monotone (deposits are never negative), so no nondet is needed."""

import hydrologic as hl


class Bank: ...


def build(flow: hl.FlowBuilder) -> None:
    bank = flow.process(Bank)
    _, deposits = bank.sim_input(int)
    balance = deposits.fold(lambda: 0, lambda acc, x: acc + max(x, 0), monotone=hl.proof("negative deposits are dropped"))
    balance.threshold_greater_or_equal(bank.singleton(100))
