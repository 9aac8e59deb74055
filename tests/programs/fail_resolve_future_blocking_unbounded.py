"""HL105: `Singleton.resolve_future_blocking` needs a Bounded singleton; a top-level running fold is Unbounded."""

from typing import Awaitable

import hydrologic as hl


class Pricer: ...


async def quote(n: int) -> int:
    return n * 100


def build(flow: hl.FlowBuilder) -> None:
    pricer = flow.process(Pricer)
    _, orders = pricer.sim_input(int)
    pending: hl.Singleton[Awaitable[int], hl.Process[Pricer], hl.Unbounded] = orders.count().map(quote)
    pending.resolve_future_blocking()  # expect: HL105
