"""Fix for HL403: complete once, with the two sources merged."""

import hydrologic as hl
from hydrologic import nondet


class Server: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    handle, outbox = server.forward_ref(str)
    outbox.sim_output()
    _, replies = server.sim_input(str)
    _, alerts = server.sim_input(str)
    handle.complete(replies.merge_ordered(alerts, nondet("alerts may interleave with replies")))
