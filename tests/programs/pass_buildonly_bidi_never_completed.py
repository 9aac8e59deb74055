"""Fix for HL401: complete the port with its responses."""

import hydrologic as hl


class Server: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    requests, port = server.source_external_bidi(client, name="kv", of=str)
    port.complete(requests.map(len))
