"""Fix for HL107: inside a tick, `resolve_futures_blocking` awaits the batch before the tick goes on."""

import hydrologic as hl
from hydrologic import nondet


class Api: ...


async def fetch(user: int) -> str:
    return f"user-{user}"


def build(flow: hl.FlowBuilder) -> None:
    api = flow.process(Api)
    _, users = api.sim_input(int)
    batch = users.batch(api.tick(), nondet("requests are served per tick"))
    batch.map(fetch).resolve_futures_blocking().all_ticks().sim_output()
