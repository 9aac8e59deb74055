"""HL105: `anti_join` needs its right side Bounded; the live ban list is Unbounded."""

import hydrologic as hl


class Api: ...


def build(flow: hl.FlowBuilder) -> None:
    api = flow.process(Api)
    _, requests = api.sim_input(tuple[str, str])  # (user, path)
    _, banned = api.sim_input(str)
    requests.anti_join(banned)  # expect: HL105
