"""HL105: `KeyedSingleton.join_keyed_stream` needs the keyed singleton (self) Bounded; a live per-key fold is Unbounded."""

import hydrologic as hl


class Accounts: ...


def build(flow: hl.FlowBuilder) -> None:
    accounts = flow.process(Accounts)
    _, deposits = accounts.sim_input(tuple[str, int])
    _, lookups = accounts.sim_input(tuple[str, str])
    balances = deposits.into_keyed().fold(lambda: 0, lambda total, d: total + d)
    balances.join_keyed_stream(lookups.into_keyed())  # expect: HL105
