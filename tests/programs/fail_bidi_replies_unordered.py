"""HL110: a bidi port pairs replies with requests by position, but the replies are NoOrder."""

import hydrologic as hl


class Server: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    requests, port = server.source_external_bidi(client, name="kv", of=str)
    port.complete(requests.map(str.upper).weaken_ordering())  # expect: HL110
