"""HL110: an exactly-once output port receives a stream from a client that may resend."""

import hydrologic as hl


class Server: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    reqs = server.source_external(client, name="in", of=str, retries=hl.AtLeastOnce)
    reqs.map(str.upper).send_external(client, name="out", delivery="exactly_once")  # expect: HL110
