"""Fix for HL105: snapshot the count into a tick, where each tick's value is Bounded, and await it there."""

import hydrologic as hl
from hydrologic import nondet


class Pricer: ...


async def quote(n: int) -> int:
    return n * 100


def build(flow: hl.FlowBuilder) -> None:
    pricer = flow.process(Pricer)
    _, orders = pricer.sim_input(int)
    tick = pricer.tick()
    count = orders.count().snapshot(tick, nondet("quote the count as of each tick"))
    count.map(quote).resolve_future_blocking().all_ticks().sim_output()
