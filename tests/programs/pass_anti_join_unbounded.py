"""Fix for HL105: batch both sides into the same tick and anti_join the bounded batches."""

import hydrologic as hl
from hydrologic import nondet


class Api: ...


def build(flow: hl.FlowBuilder) -> None:
    api = flow.process(Api)
    _, requests = api.sim_input(tuple[str, str])  # (user, path)
    _, banned = api.sim_input(str)
    tick = api.tick()
    now = requests.batch(tick, nondet("requests are checked in the tick they arrive"))
    bans = banned.batch(tick, nondet("a ban applies from the tick it arrives"))
    now.anti_join(bans).all_ticks().sim_output()
