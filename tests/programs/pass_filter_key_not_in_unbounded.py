"""Fix for HL105: batch both sides into the same tick."""

import hydrologic as hl
from hydrologic import nondet


class Payments: ...


def build(flow: hl.FlowBuilder) -> None:
    payments = flow.process(Payments)
    _, transfers = payments.sim_input(tuple[str, int])
    _, closed = payments.sim_input(str)
    tick = payments.tick()
    now = transfers.into_keyed().batch(tick, nondet("transfers are checked in the tick they arrive"))
    now.filter_key_not_in(closed.batch(tick, nondet("a closure applies from the tick it arrives"))).entries().all_ticks().sim_output()
