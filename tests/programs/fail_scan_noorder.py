"""HL101: `scan` (a running balance) needs TotalOrder; deposits from two channels are NoOrder."""

import hydrologic as hl


class Bank: ...


def build(flow: hl.FlowBuilder) -> None:
    bank = flow.process(Bank)
    _, atm = bank.sim_input(int)
    _, online = bank.sim_input(int)
    deposits = atm.merge_unordered(online)
    deposits.scan(lambda: 0, lambda balance, amount: balance + amount)  # expect: HL101
