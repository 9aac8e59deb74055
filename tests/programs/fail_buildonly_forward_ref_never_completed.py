"""HL401: a top-level forward_ref that is never completed."""

import hydrologic as hl


class Server: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    _handle, retries = server.forward_ref(str)  # expect: HL401
    _, fresh = server.sim_input(str)
    retries.sim_output()
    fresh.sim_output()
