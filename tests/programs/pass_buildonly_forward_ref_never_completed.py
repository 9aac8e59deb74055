"""Fix for HL401: complete the forward reference."""

import hydrologic as hl


class Server: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    handle, retries = server.forward_ref(str)
    _, fresh = server.sim_input(str)
    handle.complete(fresh.filter(lambda r: r.startswith("retry:")))
    retries.sim_output()
