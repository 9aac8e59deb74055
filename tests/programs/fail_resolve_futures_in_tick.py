"""HL107: `resolve_futures` lets results arrive in later ticks, so it is only valid at the top level."""

import hydrologic as hl
from hydrologic import nondet


class Api: ...


async def fetch(user: int) -> str:
    return f"user-{user}"


def build(flow: hl.FlowBuilder) -> None:
    api = flow.process(Api)
    _, users = api.sim_input(int)
    batch = users.batch(api.tick(), nondet("requests are served per tick"))
    batch.map(fetch).resolve_futures()  # expect: HL107
