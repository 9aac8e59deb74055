"""Fix for HL101: declare the arrival order acceptable with assume_ordering(nondet(...))."""

import hydrologic as hl
from hydrologic import nondet


class Bank: ...


def build(flow: hl.FlowBuilder) -> None:
    bank = flow.process(Bank)
    _, atm = bank.sim_input(int)
    _, online = bank.sim_input(int)
    deposits = atm.merge_unordered(online).assume_ordering(nondet("the balance history follows arrival order"))
    deposits.scan(lambda: 0, lambda balance, amount: balance + amount).sim_output()
