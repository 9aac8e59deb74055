"""HL101: `resolve_futures` emits results as calls complete (NoOrder), so `first` is rejected."""

import hydrologic as hl


class Api: ...


async def fetch(user: int) -> str:
    return f"user-{user}"


def build(flow: hl.FlowBuilder) -> None:
    api = flow.process(Api)
    _, users = api.sim_input(int)
    users.map(fetch).resolve_futures().first()  # expect: HL101
