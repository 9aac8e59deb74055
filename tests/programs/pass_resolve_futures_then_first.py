"""Fix for HL101: `resolve_futures_ordered` keeps the input order, so `first` is well defined."""

import hydrologic as hl


class Api: ...


async def fetch(user: int) -> str:
    return f"user-{user}"


def build(flow: hl.FlowBuilder) -> None:
    api = flow.process(Api)
    _, users = api.sim_input(int)
    users.map(fetch).resolve_futures_ordered().first()
