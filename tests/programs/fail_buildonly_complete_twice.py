"""HL403: a forward_ref completed twice."""

import hydrologic as hl


class Server: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    handle, outbox = server.forward_ref(str)
    outbox.sim_output()
    _, replies = server.sim_input(str)
    _, alerts = server.sim_input(str)
    handle.complete(replies)
    handle.complete(alerts)  # expect: HL403
