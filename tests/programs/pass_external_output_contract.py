"""Fix for HL110: merge with an explicit, explored interleaving that keeps each input's order."""

import hydrologic as hl
from hydrologic import nondet


class Server: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    a = server.source_external(client, name="a", of=int)
    b = server.source_external(client, name="b", of=int)
    merged = a.merge_ordered(b, nondet("clients accept any interleaving that keeps each input's order"))
    merged.send_external(client, name="out", ordered=True)
