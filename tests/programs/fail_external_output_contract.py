"""HL110: an output port declared ordered receives a stream merged in arrival order."""

import hydrologic as hl


class Server: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    a = server.source_external(client, name="a", of=int)
    b = server.source_external(client, name="b", of=int)
    a.merge_unordered(b).send_external(client, name="out", ordered=True)  # expect: HL110
