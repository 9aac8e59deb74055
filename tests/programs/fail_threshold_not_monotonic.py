"""HL111: a threshold read on a fold that never promised its value only grows."""

import hydrologic as hl


class Bank: ...


def build(flow: hl.FlowBuilder) -> None:
    bank = flow.process(Bank)
    _, deposits = bank.sim_input(int)
    balance = deposits.fold(lambda: 0, lambda acc, x: acc + x)
    balance.threshold_greater_or_equal(bank.singleton(100))  # expect: HL111
