"""Fix for HL110: keep each client's replies in request order (or declare ordered=False)."""

import hydrologic as hl


class Server: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    requests, port = server.source_external_bidi(client, name="kv", of=str)
    port.complete(requests.map(str.upper))
