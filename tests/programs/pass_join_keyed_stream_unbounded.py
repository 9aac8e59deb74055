"""Fix for HL105: snapshot the balances and batch the lookups into the same tick."""

import hydrologic as hl
from hydrologic import nondet


class Accounts: ...


def build(flow: hl.FlowBuilder) -> None:
    accounts = flow.process(Accounts)
    _, deposits = accounts.sim_input(tuple[str, int])
    _, lookups = accounts.sim_input(tuple[str, str])
    balances = deposits.into_keyed().fold(lambda: 0, lambda total, d: total + d)
    tick = accounts.tick()
    now = balances.snapshot(tick, nondet("a lookup may see a balance from a recent tick"))
    now.join_keyed_stream(lookups.into_keyed().batch(tick, nondet("lookups are served per tick"))).entries().all_ticks().sim_output()
